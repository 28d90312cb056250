"""The plan's register: its documents, requirement templates and support contacts."""

from django.db import transaction
from django.db.models import Max

from planning import requirements
from planning.models import DeploymentPlan, PlanningDocument, RequirementSpec, SupportContact
from planning.services._common import _check_member, _only
from planning.services.locks import plan_lock_writable

DOCUMENT_FIELDS = ("status", "owner", "link", "notes")


@transaction.atomic
def document_update(*, document: PlanningDocument, **changes) -> PlanningDocument:
    _only(changes, DOCUMENT_FIELDS)
    plan = plan_lock_writable(document.plan)
    document = PlanningDocument.objects.get(pk=document.pk)
    if "owner" in changes:
        _check_member(plan, changes["owner"], "owner")
    for field, value in changes.items():
        setattr(document, field, value)
    document.full_clean()
    document.save()
    return document


@transaction.atomic
def document_include(*, document: PlanningDocument) -> PlanningDocument:
    """Bring a not-applicable document into scope (compare-and-set: twice is once)."""
    plan_lock_writable(document.plan)
    PlanningDocument.objects.filter(
        pk=document.pk, status=PlanningDocument.Status.NOT_APPLICABLE
    ).update(status=PlanningDocument.Status.NOT_STARTED)
    return PlanningDocument.objects.get(pk=document.pk)


@transaction.atomic
def requirement_update(*, spec: RequirementSpec, values: dict) -> RequirementSpec:
    """Replace the template's values with `values`, cleaned field by field.

    Raises `requirements.RequirementsInvalid` with every problem, saving nothing, unless all
    fields are valid.
    """
    plan_lock_writable(spec.plan)
    spec = RequirementSpec.objects.get(pk=spec.pk)
    spec.values = requirements.clean_values(spec.definition, values)
    spec.save(update_fields=["values", "updated_at"])
    return spec


@transaction.atomic
def requirement_import(*, spec: RequirementSpec, text: str | bytes) -> RequirementSpec:
    """Replace the values with those of a YAML document in the guide's shape."""
    plan_lock_writable(spec.plan)
    spec = RequirementSpec.objects.get(pk=spec.pk)
    spec.values = requirements.parse_yaml(spec.kind, spec.definition, text)
    spec.save(update_fields=["values", "updated_at"])
    return spec


@transaction.atomic
def contact_create(*, plan: DeploymentPlan, topic: str, name: str, email: str) -> SupportContact:
    plan = plan_lock_writable(plan)
    last = plan.support_contacts.aggregate(last=Max("position"))["last"] or 0
    contact = SupportContact(plan=plan, topic=topic, name=name, email=email, position=last + 1)
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: SupportContact, **changes) -> SupportContact:
    _only(changes, ("topic", "name", "email"))
    plan_lock_writable(contact.plan)
    contact = SupportContact.objects.get(pk=contact.pk)
    for field, value in changes.items():
        setattr(contact, field, value)
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_delete(*, contact: SupportContact) -> None:
    plan_lock_writable(contact.plan)
    SupportContact.objects.filter(pk=contact.pk).delete()
