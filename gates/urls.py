from django.urls import path

from gates import views, webhook_views

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
    path(plan + "webhooks/", webhook_views.webhooks, name="webhooks"),
    path(plan + "webhooks/add/", webhook_views.webhook_add, name="webhook_add"),
    path(
        plan + "webhooks/<int:webhook_id>/delete/",
        webhook_views.webhook_delete,
        name="webhook_delete",
    ),
    path(
        plan + "webhooks/deliveries/<int:delivery_id>/redeliver/",
        webhook_views.delivery_redeliver,
        name="delivery_redeliver",
    ),
    path("hooks/github/", views.github_hook, name="github_hook"),
    path("hooks/gitlab/", views.gitlab_hook, name="gitlab_hook"),
]
