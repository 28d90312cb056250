from django.urls import path

from signoffs import views

app_name = "packets"

urlpatterns = [
    path("verify/", views.packet_verify, name="verify"),
]
