from django.urls import path

from gates import webhook_views

app_name = "gates"

plan = "plans/<int:plan_id>/"
urlpatterns = [
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
]
