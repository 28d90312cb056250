from django.urls import path

from gates import views

app_name = "gates"

plan = "plans/<int:plan_id>/"

urlpatterns = [
    path(plan + "gates/", views.deploy_gates, name="deploy_gates"),
    path(plan + "gates/mappings/", views.mapping_add, name="mapping_add"),
    path(
        plan + "gates/mappings/<int:mapping_id>/remove/",
        views.mapping_remove,
        name="mapping_remove",
    ),
    path("hooks/github/", views.github_hook, name="github_hook"),
    path("hooks/gitlab/", views.gitlab_hook, name="gitlab_hook"),
]
