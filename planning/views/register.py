from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from planning import selectors, services
from planning.access import CHANGE, get_part, plan_view
from planning.forms import ContactForm, DocumentForm
from planning.models import PlanningDocument, SupportContact
from planning.views.common import form_status
from truststream.forms import apply_validation_error


@plan_view()
def documents(request: HttpRequest, plan) -> HttpResponse:
    return render(
        request,
        "planning/documents.html",
        {"plan": plan, "categories": selectors.plan_documents(plan), "tab": "documents"},
    )


@plan_view(CHANGE, methods=("GET", "POST"))
def document_edit(request: HttpRequest, plan, document_id: int) -> HttpResponse:
    document = get_part(plan, PlanningDocument.objects.all(), document_id)
    form = DocumentForm(request.POST or None, instance=document, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_update(document=document, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"“{document.title}” saved.")
            return redirect("planning:documents", plan.pk)
    return render(
        request,
        "planning/document_form.html",
        {"plan": plan, "document": document, "form": form, "tab": "documents"},
        status=form_status(form),
    )


@plan_view(CHANGE, methods=("POST",))
def document_include(request: HttpRequest, plan, document_id: int) -> HttpResponse:
    document = get_part(plan, PlanningDocument.objects.all(), document_id)
    try:
        services.document_include(document=document)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"“{document.title}” is now in scope.")
    return redirect("planning:documents", plan.pk)


def _contacts_page(request, plan, *, form=None, status=200) -> HttpResponse:
    return render(
        request,
        "planning/contacts.html",
        {
            "plan": plan,
            "contacts": plan.support_contacts.order_by("position", "id"),
            "form": form or ContactForm(),
            "tab": "contacts",
        },
        status=status,
    )


@plan_view()
def contacts(request: HttpRequest, plan) -> HttpResponse:
    return _contacts_page(request, plan)


@plan_view(CHANGE, methods=("POST",))
def contact_add(request: HttpRequest, plan) -> HttpResponse:
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            services.contact_create(plan=plan, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['topic']} added.")
            return redirect("planning:contacts", plan.pk)
    return _contacts_page(request, plan, form=form, status=400)


@plan_view(CHANGE, methods=("GET", "POST"))
def contact_edit(request: HttpRequest, plan, contact_id: int) -> HttpResponse:
    contact = get_part(plan, SupportContact.objects.all(), contact_id)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Contact saved.")
            return redirect("planning:contacts", plan.pk)
    return render(
        request,
        "planning/contact_form.html",
        {"plan": plan, "contact": contact, "form": form, "tab": "contacts"},
        status=form_status(form),
    )


@plan_view(CHANGE, methods=("POST",))
def contact_delete(request: HttpRequest, plan, contact_id: int) -> HttpResponse:
    contact = get_part(plan, SupportContact.objects.all(), contact_id)
    try:
        services.contact_delete(contact=contact)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{contact.topic} removed.")
    return redirect("planning:contacts", plan.pk)
