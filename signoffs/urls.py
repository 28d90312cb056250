from django.urls import path

from signoffs import views

app_name = "signoffs"

plan = "<int:plan_id>/"
urlpatterns = [
    path(plan + "signoffs/", views.signoffs, name="signoffs"),
    path(plan + "status/", views.plan_status, name="plan_status"),
    path(plan + "signoffs/<slug:role>/assign/", views.role_assign, name="role_assign"),
    path(plan + "signoffs/<slug:role>/required/", views.role_required, name="role_required"),
    path(plan + "signoffs/<slug:role>/sign/", views.sign, name="sign"),
]
