import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from planning.views.common import form_status
from reports import exports, selectors, services
from reports.forms import AuditorExportForm, PortfolioFilterForm


def _filters(request: HttpRequest) -> tuple[PortfolioFilterForm, dict]:
    form = PortfolioFilterForm(request.GET or None)
    return form, (form.cleaned_data if form.is_valid() else {})


@login_required
@require_GET
def portfolio(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    today = timezone.localdate()
    page, rows = selectors.portfolio(
        request.user, today=today, page_number=request.GET.get("page"), **filters
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "today": today,
        "filtered": any(filters.values()),
        "query": query.urlencode(),
        "at_risk_days": selectors.AT_RISK_DAYS,
    }
    template = "reports/_portfolio_table.html" if request.htmx else "reports/portfolio.html"
    return render(request, template, context)


def _attachment(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def portfolio_csv(request: HttpRequest) -> HttpResponse:
    _, filters = _filters(request)
    today = timezone.localdate()
    rows = selectors.portfolio_all(request.user, today=today, **filters)
    return _attachment(
        exports.portfolio_csv(rows), "text/csv; charset=utf-8", f"portfolio-{today}.csv"
    )


@login_required
@require_http_methods(["GET", "POST"])
def auditor_export(request: HttpRequest) -> HttpResponse:
    form = AuditorExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        kind = form.cleaned_data["format"]
        population = selectors.change_population(request.user, start=start, end=end)
        export = services.auditor_export_record(
            user=request.user, population=population, format=kind
        )
        name = f"change-population-{start}-to-{end}.{kind}"
        if kind == "json":
            body = exports.population_json(
                population, exported_by=request.user, exported_at=export.created_at
            )
            return _attachment(body, "application/json", name)
        return _attachment(exports.population_csv(population), "text/csv; charset=utf-8", name)
    if not form.is_bound:
        today = timezone.localdate()
        form = AuditorExportForm(
            initial={"date_from": today - datetime.timedelta(days=90), "date_to": today}
        )
    context = {
        "form": form,
        "exports": selectors.recent_exports(request.user),
        "superuser": request.user.is_superuser,
    }
    return render(request, "reports/auditor_export.html", context, status=form_status(form))
