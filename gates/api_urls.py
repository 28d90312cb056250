from django.urls import path

from gates.api import api

urlpatterns = [path("v1/", api.urls)]
