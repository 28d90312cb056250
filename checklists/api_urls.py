from django.urls import path

from checklists.api import api

urlpatterns = [path("v1/", api.urls)]
