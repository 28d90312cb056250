"""The checklists' part of the JSON API: checklists, items and readiness (mounted with the
rest in `gates.api`; the authentication and errors are `truststream.api`'s)."""

import datetime
from typing import Literal

from django.http import Http404
from ninja import Router, Schema, Status
from pydantic import Field

from checklists import selectors, services
from checklists.models import ChecklistItem
from planning.access import CHANGE, VIEW, get_plan_for_user
from truststream.api import ERRORS, InvalidOut, PathId, Text

router = Router(tags=["checklists"])


class LinkOut(Schema):
    url: str
    added_at: datetime.datetime


class ItemOut(Schema):
    id: int
    checklist: str
    text: str
    state: str
    critical: bool
    conditional: bool
    reason: str
    note: str
    links: list[LinkOut]
    version: int
    assignee: str | None = Field(None, description="The email of the member it is assigned to")
    carried_state: str | None = Field(
        None,
        description="The state carried from the previous environment's plan, not confirmed "
        "here yet (the item counts as open until a state is set in this plan)",
    )
    carried_from: str | None = Field(None, description="The environment it was carried from")
    changed_by: str | None
    changed_at: datetime.datetime | None


class ChecklistOut(Schema):
    key: str
    title: str
    items: list[ItemOut]


class StateIn(Schema):
    state: Literal["open", "passed", "failed", "not_applicable"]
    version: int | None = Field(
        None,
        description="The version you read; the change is refused (409) if the item changed "
        "since. Leave it out to change whatever the item is now.",
    )
    note: Text | None = Field(None, max_length=20_000, description="Replaces the item's note.")
    links: list[Text] = Field(default_factory=list, max_length=20, description="Evidence links.")
    reason: Text = Field("", max_length=500, description="Required for not_applicable.")
    override: bool = Field(
        False, description="Owners only: mark an item not applicable that is not conditional."
    )


class ConflictOut(Schema):
    detail: str
    current: ItemOut


class CategoryOut(Schema):
    key: str
    title: str
    weight: int
    score: int | None
    suggested: int | None
    weighted: float


class BandOut(Schema):
    key: str
    title: str
    min: int


class BlockerOut(Schema):
    id: int
    text: str
    state: str


class ReadinessOut(Schema):
    total: float
    decision: BandOut
    score_band: BandOut
    complete: bool
    blockers: list[BlockerOut]
    categories: list[CategoryOut]


def _item_out(item: ChecklistItem, links=None) -> dict:
    who = item.changed_by
    return {
        "id": item.pk,
        "checklist": item.checklist.key,
        "text": item.text,
        "state": item.state,
        "critical": item.critical,
        "conditional": item.conditional,
        "reason": item.na_reason,
        "note": item.note,
        "links": [
            {"url": link.url, "added_at": link.added_at}
            for link in (links if links is not None else item.links.all())
        ],
        "version": item.version,
        "assignee": item.assignee.email if item.assignee_id else None,
        "carried_state": item.carried_state or None,
        "carried_from": item.carried_from or None,
        "changed_by": (who.get_full_name() or who.email) if who else None,
        "changed_at": item.changed_at,
    }


@router.get("/plans/{plan_id}/checklists", response={200: list[ChecklistOut], **ERRORS})
def list_checklists(request, plan_id: PathId):
    """The plan's checklists and their items."""
    plan = get_plan_for_user(request.user, plan_id, VIEW)
    return [
        {
            "key": checklist.key,
            "title": checklist.title,
            "items": [_item_out(item, links=item.links.all()) for item in checklist.item_list],
        }
        for checklist in selectors.plan_checklists(plan)
    ]


def _item_for(request, item_id: int, perm: str) -> ChecklistItem:
    try:
        item = ChecklistItem.objects.select_related("checklist", "changed_by", "assignee").get(
            pk=item_id
        )
    except ChecklistItem.DoesNotExist:
        raise Http404 from None
    item.plan = get_plan_for_user(request.user, item.plan_id, perm)
    return item


@router.get("/items/{item_id}", response={200: ItemOut, **ERRORS})
def get_item(request, item_id: PathId):
    return _item_out(_item_for(request, item_id, VIEW))


@router.post(
    "/items/{item_id}/state",
    response={200: ItemOut, 400: InvalidOut, 409: ConflictOut, **ERRORS},
)
def set_state(request, item_id: PathId, payload: StateIn):
    """Set an item's state, with an optional note and evidence links, in one change."""
    item = _item_for(request, item_id, CHANGE)
    try:
        item = services.item_set_state(
            item=item,
            actor=request.user,
            state=payload.state,
            version=payload.version,
            reason=payload.reason,
            actor_is_owner=payload.override and item.plan.manageable,
            note=payload.note,
            links=payload.links,
        )
    except services.StaleItem as conflict:
        return Status(
            409,
            {
                "detail": "The item changed since the version you sent; nothing was changed.",
                "current": _item_out(conflict.current),
            },
        )
    return _item_out(item)


@router.get("/plans/{plan_id}/readiness", response={200: ReadinessOut, **ERRORS})
def get_readiness(request, plan_id: PathId):
    """The weighted score, the decision band, blockers, and each category."""
    plan = get_plan_for_user(request.user, plan_id, VIEW)
    result = selectors.readiness(plan)
    return {
        "total": float(result.total),
        "decision": result.band,
        "score_band": result.score_band,
        "complete": result.complete,
        "blockers": [
            {"id": item.pk, "text": item.text, "state": item.state} for item in result.blockers
        ],
        "categories": [
            {
                "key": c.key,
                "title": c.title,
                "weight": c.weight,
                "score": c.score,
                "suggested": c.suggested,
                "weighted": float(c.weighted),
            }
            for c in result.categories
        ],
    }
