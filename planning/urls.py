from django.urls import path

from planning import views

app_name = "planning"

urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("new/", views.plan_create, name="plan_create"),
    path("<int:plan_id>/", views.plan_detail, name="plan_detail"),
    path("<int:plan_id>/edit/", views.plan_edit, name="plan_edit"),
    path("<int:plan_id>/archive/", views.plan_archive, name="plan_archive"),
    path("<int:plan_id>/restore/", views.plan_restore, name="plan_restore"),
    path("<int:plan_id>/members/", views.member_add, name="member_add"),
    path("<int:plan_id>/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path(
        "<int:plan_id>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
]
