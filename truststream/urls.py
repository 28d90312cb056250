from django.contrib import admin
from django.urls import include, path

from truststream import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("plans/", include("planning.urls")),
    path("admin/", admin.site.urls),
]
