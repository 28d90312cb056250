from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("portfolio/", views.portfolio, name="portfolio"),
    path("portfolio.csv", views.portfolio_csv, name="portfolio_csv"),
    path("auditor-export/", views.auditor_export, name="auditor_export"),
]
