from django.urls import path

from checklists import comment_views, views

app_name = "checklists"

plan = "<int:plan_id>/"
item = plan + "checklists/items/<int:item_id>/"
urlpatterns = [
    path(plan + "checklists/", views.checklists, name="checklists"),
    path(item, views.item_detail, name="item_detail"),
    path(item + "state/", views.item_state, name="item_state"),
    path(item + "note/", views.item_note, name="item_note"),
    path(item + "assignee/", views.item_assign, name="item_assign"),
    path(item + "links/", views.link_add, name="link_add"),
    path(item + "links/<int:link_id>/remove/", views.link_remove, name="link_remove"),
    path(item + "files/", views.file_add, name="file_add"),
    path(item + "files/<int:file_id>/", views.file_download, name="file_download"),
    path(item + "files/<int:file_id>/remove/", views.file_remove, name="file_remove"),
    path(plan + "comments/", comment_views.comment_add, name="comment_add"),
    path(plan + "comments/<int:comment_id>/edit/", comment_views.comment_edit, name="comment_edit"),
    path(
        plan + "comments/<int:comment_id>/delete/",
        comment_views.comment_delete,
        name="comment_delete",
    ),
    path(plan + "compare/", views.compare, name="compare"),
    path(plan + "readiness/", views.readiness, name="readiness"),
    path(plan + "readiness/<slug:category>/", views.score_set, name="score_set"),
]
