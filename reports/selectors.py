"""Reads across plans: the portfolio's rows and the auditor's change population.

Everything here reads through the other apps' selectors and the audit package; nothing
writes. The portfolio costs a fixed number of queries whatever the number of plans.
"""

import datetime
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone

from checklists.history import score_trends
from checklists.selectors import ReadinessSummary, readiness_summaries
from planning.models import DeploymentPlan, Task
from planning.selectors import (
    blocked_tasks,
    plans_exportable_by,
    plans_for_user,
    status_entries,
)
from reports.models import AuditorExport
from signoffs.decision import GO, NO_GO, decide, gate_threshold
from signoffs.models import ReadinessPacket, Signoff
from signoffs.policies import expires_at, signoff_state
from signoffs.selectors import missing_signoffs
from truststream import audit
from truststream.models import AuditSeal

Status = DeploymentPlan.Status

# A plan whose go-live is this close (or past) and that is not `go` is at risk.
AT_RISK_DAYS = 7
TREND_WEEKS = 6
PER_PAGE = 100
# Plans that have nothing left to go live: they are never at risk.
FINISHED = (Status.DEPLOYED, Status.CANCELLED)


@dataclass
class PortfolioRow:
    plan: DeploymentPlan
    readiness: ReadinessSummary
    blocked_tasks: list[Task]
    missing_roles: list[str]
    trend: list[float | None]
    today: datetime.date

    @property
    def days_left(self) -> int:
        return (self.plan.target_go_live - self.today).days

    @property
    def go_live_text(self) -> str:
        if self.plan.status == Status.DEPLOYED:
            return "Deployed"
        days = self.days_left
        if days > 1:
            return f"{days} days left"
        if days == 1:
            return "Tomorrow"
        if days == 0:
            return "Today"
        return f"{-days} day{'s' if days < -1 else ''} overdue"

    @property
    def failed_items(self) -> list:
        return self.readiness.failed_blockers

    @property
    def open_critical(self) -> int:
        return len(self.readiness.blockers) - len(self.failed_items)

    @property
    def blocked(self) -> bool:
        """Anything blocks: a critical item open or failed, or a blocked task."""
        return bool(self.readiness.blockers or self.blocked_tasks)

    @property
    def decision(self) -> tuple[str, list[str]]:
        """The gate's rule (`signoffs.decision.decide`) over what the page loaded in bulk,
        with the page's own blocker added: a blocked task. "Signed off on current digests"
        is the status (the status machine and the stale sweep keep it true to the digests)
        with no role missing (`missing_signoffs` names any approval the sweep found stale)."""
        verdict, reasons = decide(
            status=self.plan.status,
            archived=self.plan.is_archived,
            signed_off=self.plan.status in (Status.SIGNED_OFF, Status.DEPLOYED)
            and not self.missing_roles,
            score=self.readiness.total,
            threshold=gate_threshold(self.plan.signoff_threshold),
            band_title=self.readiness.band["title"],
            lowest_band=self.readiness.lowest_band,
            blockers=[item.text for item in self.readiness.blockers],
            missing_roles=self.missing_roles,
            stale_roles=[],
        )
        if self.blocked_tasks:
            count = len(self.blocked_tasks)
            blocked = f"{count} task{'s are' if count > 1 else ' is'} blocked."
            # A `go` verdict's one reason says why it would go; a blocked task overturns it.
            reasons = [*reasons, blocked] if verdict != GO else [blocked]
            verdict = NO_GO
        return verdict, reasons

    @property
    def go(self) -> bool:
        """The plan may go live now: signed off on current digests, readiness at or above
        the gate's threshold, and nothing blocks."""
        return self.decision[0] == GO

    @property
    def at_risk(self) -> bool:
        return self.plan.status not in FINISHED and self.days_left <= AT_RISK_DAYS and not self.go

    @property
    def score(self) -> str:
        return f"{float(self.readiness.total):g}" if self.readiness.scored else ""

    @property
    def trend_text(self) -> str:
        """The trend in words, oldest first: the sparkline's text alternative."""
        points = ["no score" if value is None else f"{value:g}" for value in self.trend]
        return f"Score at the end of each of the last {len(self.trend)} weeks: " + ", ".join(points)


def portfolio_plans(
    user,
    *,
    today: datetime.date,
    environment: str = "",
    status: str = "",
    at_risk: bool = False,
    team: str = "",
) -> QuerySet[DeploymentPlan]:
    """The active plans the user may see (planning's rule: their memberships), soonest
    go-live first. With `at_risk`, only those whose go-live is within `AT_RISK_DAYS` or past
    and that are neither deployed nor cancelled; whether each is `go` is for the rows to say."""
    plans = plans_for_user(user, environment=environment, status=status)
    if team:
        # The plans the team (by its slug) is a member of, among those the user may see.
        plans = plans.filter(plan_teams__team__slug=team)
    if at_risk:
        plans = plans.filter(
            target_go_live__lte=today + datetime.timedelta(days=AT_RISK_DAYS)
        ).exclude(status__in=FINISHED)
    return plans.order_by("target_go_live", "title", "id")


def portfolio_rows(plans, *, today: datetime.date) -> list[PortfolioRow]:
    """A row for each plan. A fixed number of queries whatever the number of plans."""
    plans = list(plans)
    plan_ids = [plan.pk for plan in plans]
    summaries = readiness_summaries(plans)
    blocked = blocked_tasks(plan_ids)
    missing = missing_signoffs(plan_ids)
    trends = score_trends(plan_ids, weeks=TREND_WEEKS)
    return [
        PortfolioRow(
            plan=plan,
            readiness=summaries[plan.pk],
            blocked_tasks=blocked[plan.pk],
            missing_roles=missing[plan.pk],
            trend=trends[plan.pk],
            today=today,
        )
        for plan in plans
    ]


def portfolio(
    user,
    *,
    today: datetime.date,
    page_number=None,
    environment: str = "",
    status: str = "",
    at_risk: bool = False,
    team: str = "",
) -> tuple[Page, list[PortfolioRow]]:
    """One page of the portfolio. At risk depends on each plan's readiness and approvals, so
    that filter reads the rows of every candidate (few: a week's go-lives) before paging."""
    plans = portfolio_plans(
        user, today=today, environment=environment, status=status, at_risk=at_risk, team=team
    )
    if at_risk:
        rows = [row for row in portfolio_rows(plans, today=today) if row.at_risk]
        page = Paginator(rows, PER_PAGE).get_page(page_number)
        return page, list(page.object_list)
    page = Paginator(plans, PER_PAGE).get_page(page_number)
    return page, portfolio_rows(page.object_list, today=today)


def portfolio_all(user, *, today: datetime.date, **filters) -> list[PortfolioRow]:
    """Every row the filters select, unpaged: what the CSV holds."""
    rows = portfolio_rows(portfolio_plans(user, today=today, **filters), today=today)
    if filters.get("at_risk"):
        rows = [row for row in rows if row.at_risk]
    return rows


# The auditor's export


@dataclass
class Approval:
    """One signature as the export lists it."""

    signoff: Signoff
    # current, stale, expired (older than its role's approval_days), superseded (a later
    # decision of the same signer for its role, or of the holder for a person's role), or
    # not_holder (the signer no longer holds the role or counts for another)
    state: str
    # When the worker found it stale (after the fact, the first time it looked).
    stale_since: datetime.datetime | None
    # When the approval stopped counting under its role's policy, once that moment has passed.
    expired_at: datetime.datetime | None = None
    # The role's policy in words, and how far the role is from its quorum now.
    policy: str = ""
    progress: str = ""


@dataclass
class ChangeRecord:
    """A plan of the change population, with the evidence an auditor samples."""

    plan: DeploymentPlan
    signed_off_at: list[datetime.datetime]
    deployed_at: datetime.datetime | None
    approvals: list[Approval]
    final_packet: ReadinessPacket | None
    seal_at_deployment: AuditSeal | None
    seals_checked: int
    chain_problem: str = ""

    @property
    def chain_verified(self) -> bool:
        return not self.chain_problem

    @property
    def chain_result(self) -> str:
        if self.chain_problem:
            return f"broken: {self.chain_problem}"
        return f"verified ({self.seals_checked} seals)"


@dataclass
class Population:
    start: datetime.date
    end: datetime.date
    records: list[ChangeRecord] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        """The rows of the CSV: one per approval, one for a plan without any."""
        return sum(max(1, len(record.approvals)) for record in self.records)


def period_bounds(start: datetime.date, end: datetime.date):
    """The first moment of `start` and the first moment after `end`, in the site's zone."""
    zone = timezone.get_current_timezone()
    first = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
    after = datetime.datetime.combine(
        end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    return first, after


def change_population(user, *, start: datetime.date, end: datetime.date) -> Population:
    """Every plan the user may export that was signed off or deployed between `start` and
    `end` (whole days, both included), as the plans' audit trail records those changes.

    Each plan's evidence is read as it stands now: its signatures with their state (digests
    compared, as on the sign-off page), its latest final packet, the seal current when it
    became deployed, and its chain of seals verified afresh. The cost grows with the number of
    plans (verification recomputes each plan's chain): this is a download, not a page."""
    first, after = period_bounds(start, end)
    exportable = plans_exportable_by(user)
    entries = status_entries(exportable, {Status.SIGNED_OFF, Status.DEPLOYED})
    by_plan: dict[int, list] = {}
    for entry in entries:
        by_plan.setdefault(entry.plan_id, []).append(entry)
    in_period = {entry.plan_id for entry in entries if first <= entry.at < after}
    plans = DeploymentPlan.objects.filter(pk__in=in_period).order_by("id")
    population = Population(start=start, end=end)
    for plan in plans:
        mine = by_plan[plan.pk]
        deployment = next((e for e in mine if e.status == Status.DEPLOYED), None)
        population.records.append(
            _change_record(
                plan,
                signed_off_at=[e.at for e in mine if e.status == Status.SIGNED_OFF],
                deployment=deployment,
            )
        )
    return population


def seal_at(plan_id: int, event_id: int) -> AuditSeal | None:
    """The plan's seal current when its trail recorded event `event_id` of the plan's own
    table: the newest seal taken before that event, i.e. whose mark in that table is below it.
    Marks, not clocks: an event's time is its transaction's start, a seal's its own."""
    label = audit.sealed_label(DeploymentPlan.pgh_event_model)
    earlier = [
        seal
        for seal in AuditSeal.objects.filter(plan_id=plan_id).order_by("number")
        if seal.marks.get(label, 0) < event_id
    ]
    return earlier[-1] if earlier else None


def _approval_state(role, signoff: Signoff, now) -> str:
    """What a signature is worth now, as the sign-off page judges its role."""
    if role.is_team:
        mine = next((s for s in role.signatures if s.signer_id == signoff.signer_id), None)
        if mine is None or mine.pk != signoff.pk:
            return "superseded"
        if all(counting.pk != signoff.pk for counting in role.counting):
            return "not_holder"
    else:
        if role.latest is None or role.latest.pk != signoff.pk:
            return "superseded"
        if not role.counts:
            return "not_holder"
    until = expires_at(signoff, role.requirement)
    if signoff.decision == Signoff.Decision.APPROVE and until is not None and until <= now:
        return "expired"
    return "current" if signoff.digest == role.current_digest else "stale"


def _change_record(plan, *, signed_off_at, deployment) -> ChangeRecord:
    state = signoff_state(plan)
    roles = {role.requirement.pk: role for role in state.roles}
    now = timezone.now()
    approvals = []
    for signoff in plan.signoffs.select_related("requirement", "signer").order_by(
        "signed_at", "id"
    ):
        role = roles.get(signoff.requirement_id)
        if role is None:
            approvals.append(Approval(signoff, "superseded", signoff.stale_notified_at))
            continue
        until = expires_at(signoff, role.requirement)
        expired = (
            until
            if signoff.decision == Signoff.Decision.APPROVE and until is not None and until <= now
            else None
        )
        approvals.append(
            Approval(
                signoff,
                _approval_state(role, signoff, now),
                signoff.stale_notified_at,
                expired_at=expired,
                policy=role.policy,
                progress=role.progress,
            )
        )
    final = (
        plan.packets.filter(kind=ReadinessPacket.Kind.FINAL, status=ReadinessPacket.Status.READY)
        .order_by("-revision")
        .first()
    )
    seal = seal_at(plan.pk, deployment.event_id) if deployment is not None else None
    checked, broken = audit.verify(plan.pk)
    return ChangeRecord(
        plan=plan,
        signed_off_at=signed_off_at,
        deployed_at=deployment.at if deployment is not None else None,
        approvals=approvals,
        final_packet=final,
        seal_at_deployment=seal,
        seals_checked=checked,
        chain_problem=broken.problem if broken else "",
    )


def recent_exports(user, limit: int = 10) -> list[AuditorExport]:
    """The user's latest auditor exports."""
    return list(AuditorExport.objects.filter(requested_by=user).order_by("-created_at")[:limit])
