from django.urls import path

from signoffs import views

app_name = "signoffs"

plan = "<int:plan_id>/"
urlpatterns = [
    path(plan + "signoffs/", views.signoffs, name="signoffs"),
    path(plan + "status/", views.plan_status, name="plan_status"),
    path(plan + "signoffs/<slug:role>/assign/", views.role_assign, name="role_assign"),
    path(plan + "signoffs/<slug:role>/required/", views.role_required, name="role_required"),
    path(plan + "signoffs/<slug:role>/policy/", views.role_policy, name="role_policy"),
    path(plan + "signoffs/<slug:role>/deputy/", views.delegation_create, name="delegation_create"),
    path(
        plan + "signoffs/<slug:role>/deputy/<int:delegation_id>/end/",
        views.delegation_end,
        name="delegation_end",
    ),
    path(plan + "signoffs/<slug:role>/sign/", views.sign, name="sign"),
]
urlpatterns += [
    path(plan + "packets/", views.packet_list, name="packet_list"),
    path(plan + "packets/request/", views.packet_request, name="packet_request"),
    path(plan + "packets/<int:packet_id>/download/", views.packet_download, name="packet_download"),
]
