from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@login_required
@require_GET
def my_work(request: HttpRequest) -> HttpResponse:
    """What waits for the user across their plans. Each app fills its panel through an
    inclusion tag (`my_tasks`, `my_checklist_items`, `my_signoffs`), so that planning imports
    nothing of the apps above it."""
    return render(request, "planning/my_work.html")
