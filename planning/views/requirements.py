from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify

from planning import fieldtypes, requirements, services
from planning.access import CHANGE, plan_view
from planning.forms import RequirementsForm, RequirementsImportForm
from planning.models import RequirementSpec
from truststream.forms import apply_validation_error
from truststream.uploads import upload_limit


def _spec(plan, kind: str) -> RequirementSpec:
    try:
        spec = RequirementSpec.objects.get(plan=plan, kind=kind)
    except RequirementSpec.DoesNotExist:
        raise Http404 from None
    spec.plan = plan
    return spec


def _page(request, plan, spec, *, form=None, import_form=None, status=200) -> HttpResponse:
    rows = [
        (
            section.replace("_", " ").capitalize(),
            requirements.label(name, field),
            fieldtypes.display(field, spec.values.get(section, {}).get(name)),
        )
        for section, name, field in requirements.fields(spec.definition)
    ]
    return render(
        request,
        "planning/requirements.html",
        {
            "plan": plan,
            "spec": spec,
            "specs": plan.requirements.order_by("id"),
            "rows": rows,
            "form": form or RequirementsForm(spec=spec),
            "import_form": import_form or RequirementsImportForm(),
            "tab": "requirements",
        },
        status=status,
    )


@plan_view()
def requirement_detail(request: HttpRequest, plan, kind: str) -> HttpResponse:
    """A requirement template: its values for everyone, the form for editors and owners."""
    return _page(request, plan, _spec(plan, kind))


@plan_view(CHANGE, methods=("POST",))
def requirement_save(request: HttpRequest, plan, kind: str) -> HttpResponse:
    spec = _spec(plan, kind)
    form = RequirementsForm(request.POST, spec=spec)
    if form.is_valid():
        try:
            services.requirement_update(spec=spec, values=form.raw_values())
        except requirements.RequirementsInvalid as invalid:
            form.add_problems(invalid.problems)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{spec.title} saved.")
            return redirect("planning:requirements", plan.pk, kind)
    return _page(request, plan, spec, form=form, status=400)


@plan_view()
def requirement_export(request: HttpRequest, plan, kind: str) -> HttpResponse:
    spec = _spec(plan, kind)
    response = HttpResponse(
        requirements.to_yaml(spec.kind, spec.definition, spec.values),
        content_type="application/yaml; charset=utf-8",
    )
    filename = f"{slugify(plan.title)}-{spec.kind}-requirements.yaml"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@upload_limit(requirements.MAX_IMPORT_BYTES)
@plan_view(CHANGE, methods=("POST",))
def requirement_import(request: HttpRequest, plan, kind: str) -> HttpResponse:
    spec = _spec(plan, kind)
    form = RequirementsImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.requirement_import(spec=spec, text=form.document())
        except requirements.RequirementsInvalid as invalid:
            form.problems = invalid.problems
            form.add_error(None, "Nothing was imported; correct these problems and try again.")
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{spec.title} imported.")
            return redirect("planning:requirements", plan.pk, kind)
    return _page(request, plan, spec, import_form=form, status=400)
