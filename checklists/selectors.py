from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from checklists import readiness as matrix
from checklists.models import (
    Checklist,
    ChecklistItem,
    EvidenceFile,
    EvidenceLink,
    ReadinessScore,
)
from planning import fieldtypes, reads, requirements
from planning.models import DeploymentPlan, Playbook, RequirementSpec
from planning.selectors import active_plan_ids, plan_members


def plan_checklists(plan: DeploymentPlan) -> list[Checklist]:
    """The plan's checklists with their items, evidence and who changed what.

    Four queries whatever the number of items, once per request: the snapshot and the
    readiness matrix read the items from here when a panel has already asked.
    """
    return reads.once(plan, "checklists", lambda: _plan_checklists(plan))


def _plan_checklists(plan: DeploymentPlan) -> list[Checklist]:
    items = ChecklistItem.objects.select_related("changed_by", "assignee").prefetch_related(
        Prefetch("links", queryset=EvidenceLink.objects.order_by("added_at", "id")),
        Prefetch("files", queryset=EvidenceFile.objects.select_related("added_by").order_by("id")),
    )
    checklists = list(
        plan.checklists.order_by("position").prefetch_related(
            Prefetch("items", queryset=items.order_by("position"))
        )
    )
    for checklist in checklists:
        checklist.item_list = list(checklist.items.all())
        for item in checklist.item_list:
            item.plan = plan
        applicable = [i for i in checklist.item_list if i.state != "not_applicable"]
        checklist.done = sum(i.state == "passed" for i in applicable)
        checklist.total = len(applicable)
        checklist.failed = sum(i.state == "failed" for i in applicable)
        checklist.percent = round(100 * checklist.done / checklist.total) if applicable else 100
    return checklists


def current_scores(plan: DeploymentPlan) -> dict[str, ReadinessScore]:
    """The latest score of each category. One query, once per request."""
    latest = (
        plan.readiness_scores.select_related("scored_by")
        .order_by("category", "-scored_at", "-id")
        .distinct("category")
    )
    return reads.once(plan, "scores", lambda: {score.category: score for score in latest})


def readiness(plan: DeploymentPlan) -> matrix.Readiness:
    """The plan's readiness matrix. Two queries whatever the number of items (none for the
    items when the page has read its checklists already), once per request."""
    return reads.once(plan, "readiness", lambda: _readiness(plan))


def _readiness(plan: DeploymentPlan) -> matrix.Readiness:
    checklists = reads.known(plan, "checklists")
    if checklists is not None:
        # In checklist order, then item order, as the query below gives them.
        items = [item for checklist in checklists for item in checklist.item_list]
    else:
        items = list(
            ChecklistItem.objects.filter(plan=plan)
            .select_related("checklist")
            .order_by("checklist__position", "position")
        )
    return matrix.compute(plan.playbook.definition["readiness"], items, current_scores(plan))


def score_history(plan: DeploymentPlan, limit: int = 50) -> QuerySet[ReadinessScore]:
    return plan.readiness_scores.select_related("scored_by").order_by("-scored_at", "-id")[:limit]


def items_waiting_for(user) -> QuerySet[ChecklistItem]:
    """The checklist items assigned to the user that are open or failed, across their active
    plans, plan by plan in checklist order. One query whatever the number of items and plans."""
    return (
        ChecklistItem.objects.filter(
            assignee=user,
            state__in=[ChecklistItem.State.OPEN, ChecklistItem.State.FAILED],
            plan_id__in=active_plan_ids(user),
        )
        .select_related("plan", "checklist")
        .order_by("plan__title", "plan_id", "checklist__position", "position", "id")
    )


def thread_context(plan: DeploymentPlan, user, *, task=None, item=None) -> dict:
    """A thread's comments with their authors, and the members one may mention. Two queries."""
    from checklists.models import Comment

    thread = Comment.objects.filter(plan=plan, task=task, item=item).select_related("author")
    members = sorted(plan_members(plan), key=lambda membership: membership.user.get_username())
    if item is not None:
        target = f"item:{item.pk}"
    elif task is not None:
        target = f"task:{task.pk}"
    else:
        target = "plan"
    return {
        "plan": plan,
        "comments": list(thread.order_by("created_at", "id")),
        "target": target,
        "thread_id": "thread-" + target.replace(":", "-"),
        "mentionable": [
            {"username": m.user.get_username(), "name": m.user.get_full_name() or m.user.email}
            for m in members
            if m.user_id != user.pk
        ],
        "user": user,
    }


def mentions_of(user, limit: int = 20) -> list:
    """The latest comments naming the user on their plans that are still in play, with where
    each was written. One query whatever the number of comments and plans."""
    from checklists.models import Mention

    return list(
        Mention.objects.filter(user=user, plan_id__in=active_plan_ids(user))
        .select_related("comment__author", "comment__plan", "comment__item", "comment__task")
        .order_by("-comment__created_at", "-id")[:limit]
    )


# Comparing a plan with the plan of the previous environment it was made from


SAME, CHANGED, CARRIED, ONLY_BEFORE, ONLY_AFTER = "same", "changed", "carried", "before", "after"


@dataclass
class ComparedRow:
    label: str
    before: str
    after: str
    # SAME, CHANGED, CARRIED (carried from the previous plan, not confirmed yet), or present
    # in one plan only (ONLY_BEFORE, ONLY_AFTER)
    difference: str
    group: str = ""
    link_item: int | None = None

    @property
    def differs(self) -> bool:
        return self.difference != SAME


@dataclass
class ComparedSection:
    title: str
    rows: list[ComparedRow] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return sum(row.differs for row in self.rows)


@dataclass
class Comparison:
    requirements: list[ComparedSection]
    checklists: list[ComparedSection]

    def _count(self, sections, difference=None) -> int:
        return sum(
            (row.differs if difference is None else row.difference == difference)
            for section in sections
            for row in section.rows
        )

    @property
    def requirement_differences(self) -> int:
        return self._count(self.requirements)

    @property
    def checklist_differences(self) -> int:
        return self._count(self.checklists)

    @property
    def carried(self) -> int:
        return self._count(self.checklists, CARRIED)


def comparison(plan: DeploymentPlan, previous: DeploymentPlan) -> Comparison:
    """The two plans' requirement templates and checklist states side by side, `previous`
    first. Two queries whatever the size of the plans."""
    return Comparison(
        requirements=_compare_requirements(plan, previous),
        checklists=_compare_checklists(plan, previous),
    )


def _compare_requirements(plan, previous) -> list[ComparedSection]:
    specs: dict[int, dict[str, RequirementSpec]] = {plan.pk: {}, previous.pk: {}}
    for spec in RequirementSpec.objects.filter(plan__in=[plan, previous]).order_by("id"):
        specs[spec.plan_id][spec.kind] = spec
    kinds = list(specs[previous.pk]) + [k for k in specs[plan.pk] if k not in specs[previous.pk]]
    sections = []
    for kind in kinds:
        before, after = specs[previous.pk].get(kind), specs[plan.pk].get(kind)
        section = ComparedSection((after or before).title)
        fields = {}
        for spec in (before, after):
            for group, name, definition in requirements.fields(spec.definition) if spec else ():
                fields.setdefault((group, name), definition)
        for (group, name), definition in fields.items():
            values = [
                fieldtypes.display(definition, spec.values.get(group, {}).get(name))
                if spec is not None
                else None
                for spec in (before, after)
            ]
            if values[0] is None or values[1] is None:
                difference = ONLY_AFTER if values[0] is None else ONLY_BEFORE
            else:
                difference = SAME if values[0] == values[1] else CHANGED
            section.rows.append(
                ComparedRow(
                    label=requirements.label(name, definition),
                    group=group.replace("_", " ").capitalize(),
                    before=values[0] or "—",
                    after=values[1] or "—",
                    difference=difference,
                )
            )
        sections.append(section)
    return sections


State = ChecklistItem.State


def _state(item: ChecklistItem) -> str:
    label = item.get_state_display()
    return f"{label}: {item.na_reason}" if item.state == State.NOT_APPLICABLE else label


def _compare_checklists(plan, previous) -> list[ComparedSection]:
    items = (
        ChecklistItem.objects.filter(plan__in=[plan, previous])
        .select_related("checklist")
        .order_by("checklist__position", "position", "id")
    )
    before_items, after_items, titles = [], [], {}
    for item in items:
        (after_items if item.plan_id == plan.pk else before_items).append(item)
        titles.setdefault(item.checklist.key, item.checklist.title)
    by_id = {item.pk: item for item in before_items}
    by_text: dict[tuple[str, str], list] = {}
    for item in before_items:
        by_text.setdefault((item.checklist.key, item.text), []).append(item)
    sections = {key: ComparedSection(title) for key, title in titles.items()}
    paired = set()
    for item in after_items:
        counterpart = by_id.get(item.previous_item_id)
        if counterpart is None:
            others = [
                o for o in by_text.get((item.checklist.key, item.text), ()) if o.pk not in paired
            ]
            counterpart = others[0] if others else None
        if counterpart is None:
            difference, before = ONLY_AFTER, "—"
        else:
            paired.add(counterpart.pk)
            before = _state(counterpart)
            if item.is_carried:
                difference = CARRIED
            elif (item.state, item.na_reason) == (counterpart.state, counterpart.na_reason):
                difference = SAME
            else:
                difference = CHANGED
        after = _state(item)
        if item.is_carried:
            after = f"{after} (carried: {item.get_carried_state_display().lower()}, to confirm)"
        sections[item.checklist.key].rows.append(
            ComparedRow(item.text, before, after, difference, link_item=item.pk)
        )
    for item in before_items:
        if item.pk not in paired:
            sections[item.checklist.key].rows.append(
                ComparedRow(item.text, _state(item), "—", ONLY_BEFORE)
            )
    return [section for section in sections.values() if section.rows]


@dataclass(frozen=True)
class Blocker:
    """A critical item that blocks readiness, as a list of plans names it."""

    text: str
    state: str


@dataclass
class ReadinessSummary:
    """A plan's readiness as a list of plans shows it: the weighted total, the decision band
    and the blockers (critical items open or failed), without the matrix's suggestions."""

    total: Decimal
    band: dict
    score_band: dict
    blockers: list[Blocker]
    scored: int
    categories: int
    lowest_band: bool

    @property
    def failed_blockers(self) -> list[Blocker]:
        return [item for item in self.blockers if item.state == ChecklistItem.State.FAILED]


def readiness_summaries(plans) -> dict[int, ReadinessSummary]:
    """The readiness of each of these plans, by the matrix's rules (`readiness.compute`: the
    weighted total of the current scores, the band it reaches, the lowest band while a
    critical item is open or failed). Three queries whatever the number of plans and items,
    reading values rather than model instances: a portfolio of hundreds of plans reads
    thousands of items."""
    plan_ids = [plan.pk for plan in plans]
    definitions = {
        playbook.pk: playbook.definition["readiness"]
        for playbook in Playbook.objects.filter(pk__in={plan.playbook_id for plan in plans})
    }
    scores: dict[int, dict[str, int]] = {pk: {} for pk in plan_ids}
    latest = (
        ReadinessScore.objects.filter(plan_id__in=plan_ids)
        .order_by("plan_id", "category", "-scored_at", "-id")
        .distinct("plan_id", "category")
        .values_list("plan_id", "category", "score")
    )
    for plan_id, category, score in latest:
        scores[plan_id][category] = score
    blockers: dict[int, list[Blocker]] = {pk: [] for pk in plan_ids}
    for plan_id, text, state in (
        ChecklistItem.objects.filter(
            plan_id__in=plan_ids,
            critical=True,
            state__in=[ChecklistItem.State.OPEN, ChecklistItem.State.FAILED],
        )
        .order_by("plan_id", "checklist__position", "position")
        .values_list("plan_id", "text", "state")
    ):
        blockers[plan_id].append(Blocker(text, state))
    summaries = {}
    for plan in plans:
        definition = definitions[plan.playbook_id]
        given = scores[plan.pk]
        categories = definition["categories"]
        total = sum(
            (
                Decimal(category["weight"] * given[category["key"]]) / 10
                for category in categories
                if category["key"] in given
            ),
            Decimal(0),
        )
        bands = sorted(definition["bands"], key=lambda band: band["min"], reverse=True)
        score_band = matrix.band_for(total, bands)
        summaries[plan.pk] = ReadinessSummary(
            total=total,
            band=bands[-1] if blockers[plan.pk] else score_band,
            score_band=score_band,
            blockers=blockers[plan.pk],
            scored=sum(category["key"] in given for category in categories),
            categories=len(categories),
            lowest_band=bool(blockers[plan.pk]) or score_band is bands[-1],
        )
    return summaries
