from django.urls import include, path

from planning.views import (
    activity,
    audit,
    board,
    invitations,
    my_work,
    plans,
    poll,
    register,
    requirements,
)

app_name = "planning"

plan = "<int:plan_id>/"
plan_urlpatterns = [
    path("", plans.plan_list, name="plan_list"),
    path("new/", plans.plan_create, name="plan_create"),
    path(plan, plans.plan_detail, name="plan_detail"),
    path(plan + "edit/", plans.plan_edit, name="plan_edit"),
    path(plan + "next/", plans.plan_next, name="plan_next"),
    path(plan + "archive/", plans.plan_archive, name="plan_archive"),
    path(plan + "restore/", plans.plan_restore, name="plan_restore"),
    path(plan + "members/", plans.member_add, name="member_add"),
    path(plan + "members/<int:membership_id>/role/", plans.member_role, name="member_role"),
    path(plan + "members/<int:membership_id>/remove/", plans.member_remove, name="member_remove"),
    path(plan + "teams/", plans.plan_team_add, name="plan_team_add"),
    path(plan + "teams/<int:plan_team_id>/role/", plans.plan_team_role, name="plan_team_role"),
    path(
        plan + "teams/<int:plan_team_id>/remove/", plans.plan_team_remove, name="plan_team_remove"
    ),
    path(
        plan + "invitations/<int:invitation_id>/withdraw/",
        plans.invitation_withdraw,
        name="invitation_withdraw",
    ),
    path(plan + "board/", board.board, name="board"),
    path(plan + "live/", poll.live_poll, name="live"),
    path(plan + "activity/", activity.plan_activity, name="activity"),
    path(plan + "audit/", audit.audit_trail, name="audit"),
    path(plan + "audit.csv", audit.audit_csv, name="audit_csv"),
    path(plan + "phases/<int:phase_id>/tasks/", board.task_add, name="task_add"),
    path(plan + "tasks/<int:task_id>/", board.task_edit, name="task_edit"),
    path(plan + "tasks/<int:task_id>/status/", board.task_status, name="task_status"),
    path(plan + "tasks/<int:task_id>/move/", board.task_move, name="task_move"),
    path(plan + "tasks/<int:task_id>/delete/", board.task_delete, name="task_delete"),
    path(plan + "documents/", register.documents, name="documents"),
    path(plan + "documents/<int:document_id>/", register.document_edit, name="document_edit"),
    path(
        plan + "documents/<int:document_id>/include/",
        register.document_include,
        name="document_include",
    ),
    path(plan + "contacts/", register.contacts, name="contacts"),
    path(plan + "contacts/add/", register.contact_add, name="contact_add"),
    path(plan + "contacts/<int:contact_id>/", register.contact_edit, name="contact_edit"),
    path(
        plan + "contacts/<int:contact_id>/delete/",
        register.contact_delete,
        name="contact_delete",
    ),
    path(
        plan + "requirements/<slug:kind>/",
        requirements.requirement_detail,
        name="requirements",
    ),
    path(
        plan + "requirements/<slug:kind>/save/",
        requirements.requirement_save,
        name="requirement_save",
    ),
    path(
        plan + "requirements/<slug:kind>/export/",
        requirements.requirement_export,
        name="requirement_export",
    ),
    path(
        plan + "requirements/<slug:kind>/import/",
        requirements.requirement_import,
        name="requirement_import",
    ),
]

# "My work" spans all of the user's plans, so it sits beside /plans/ rather than under it: the
# project includes this module at its root, and the plan URLs above go under plans/ here.
urlpatterns = [
    path("plans/", include(plan_urlpatterns)),
    path("my-work/", my_work.my_work, name="my_work"),
    # Outside /plans/: whoever opens it is not a member yet.
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
]
