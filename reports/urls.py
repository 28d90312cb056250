from django.urls import path  # noqa: F401 (the reports' views add their paths here)

app_name = "reports"

urlpatterns = []
