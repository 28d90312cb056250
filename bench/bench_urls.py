"""The project's URLs and a bare page: login required, a tiny template, nothing else. It goes
through the same middleware, session and user lookup as every plan page, so that the plan
pages' throughput can be read against what the framework alone costs on the same server."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template import engines
from django.urls import path

from truststream.urls import urlpatterns as project_urlpatterns

_TINY = engines["django"].from_string("<!doctype html><title>Bare</title><p>{{ name }}</p>")


@login_required
def bare(request):
    return HttpResponse(_TINY.render({"name": request.user.get_username()}, request))


urlpatterns = [path("bench/bare/", bare), *project_urlpatterns]
