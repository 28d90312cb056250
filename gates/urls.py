from django.urls import path  # noqa: F401 (the gates' views add their paths here)

app_name = "gates"

urlpatterns = []
