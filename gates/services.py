"""Every write of the gates: mappings, received deliveries, the answers posted and the audit
record of each decision handed out."""

import contextlib
import datetime
import logging

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from gates import github, gitlab, outbound, selectors
from gates.comment import gate_comment
from gates.models import GateAttempt, GateDecision, GateDeployment, GateMapping, Provider
from gates.tasks import deployment_answer_queue
from planning import reads
from planning.models import DeploymentPlan
from signoffs.decision import Decision, plan_decision

logger = logging.getLogger(__name__)

State = GateDeployment.State
Action = GateAttempt.Action

# The namespace of the Postgres advisory locks that serialise the work on one deployment.
LOCK_NAMESPACE = 1414
# Installation tokens live an hour; ours is kept for 50 minutes.
TOKEN_SECONDS = 50 * 60


# Mappings


def _clean_repository(provider: str, repository: str) -> str:
    repository = repository.strip().strip("/").lower()
    pattern = github.REPOSITORY if provider == Provider.GITHUB else gitlab.PROJECT_PATH
    if not pattern.fullmatch(repository):
        example = "owner/name" if provider == Provider.GITHUB else "group/project"
        raise ValidationError({"repository": f"Give the repository as {example}."})
    return repository


@transaction.atomic
def mapping_add(
    *, plan: DeploymentPlan, actor, provider: str, repository: str, environment: str
) -> GateMapping:
    """Let this plan decide the deployments of a repository's environment. The caller has
    checked that the actor owns the plan."""
    if plan.is_archived:
        raise ValidationError("This plan is archived. Restore it before changing it.")
    if provider not in Provider.values:
        raise ValidationError({"provider": "Choose GitHub or GitLab."})
    environment = environment.strip()
    if not environment or len(environment) > 255 or any(c in environment for c in "\r\n\0"):
        raise ValidationError({"environment": "Give the environment's name, on one line."})
    mapping = GateMapping(
        plan=plan,
        provider=provider,
        repository=_clean_repository(provider, repository),
        environment=environment,
        created_by=actor,
    )
    mapping.full_clean()
    try:
        with transaction.atomic():
            mapping.save()
    except IntegrityError:
        raise ValidationError(
            "Another plan already gates this repository and environment; remove it there first."
        ) from None
    return mapping


@transaction.atomic
def mapping_remove(*, mapping: GateMapping) -> None:
    GateMapping.objects.filter(pk=mapping.pk).delete()


# The audit record


def decision_record(
    *,
    decision: Decision,
    integration: str,
    answer: str | None = None,
    asked_by=None,
    deployment: GateDeployment | None = None,
    label: str = "",
) -> GateDecision:
    """Record a decision handed out: who or which integration asked, for which deployment,
    and the answer. Every caller that gives a decision out (the gates, the gate API) calls
    this; the record and its history are append-only."""
    return GateDecision.objects.create(
        plan_id=decision.plan_id,
        integration=integration,
        asked_by=asked_by,
        deployment=deployment,
        deployment_label=(label or (str(deployment) if deployment else ""))[:300],
        answer=answer or decision.decision,
        decision=decision.decision,
        document=decision.as_json(),
    )


# Deliveries


def _receive(provider: str, delivery_id: str, fields: dict, payload: dict):
    mapping = selectors.mapping_for(provider, fields["repository"], fields["environment"])
    values = {
        key: fields[key]
        for key in (
            "repository",
            "environment",
            "project_id",
            "deployment_id",
            "installation_id",
            "callback_url",
            "ref",
            "sha",
        )
        if key in fields and fields[key] is not None
    }
    with transaction.atomic():
        deployment, created = GateDeployment.objects.get_or_create(
            provider=provider,
            delivery_id=delivery_id,
            defaults={**values, "plan": mapping.plan if mapping else None, "payload": payload},
        )
        if created:
            deployment_id = deployment.pk
            transaction.on_commit(lambda: deployment_answer_queue(deployment_id))
    return deployment, created


def github_delivery_receive(*, delivery_id: str, payload: dict) -> tuple[GateDeployment, bool]:
    """Take a `deployment_protection_rule` delivery once (by its `X-GitHub-Delivery`) and hand
    it to the worker. The caller has checked its signature. ValueError if it is not one."""
    fields = github.deployment_fields(payload)
    return _receive(Provider.GITHUB, delivery_id, fields, payload)


def gitlab_event_receive(*, payload: dict) -> tuple[GateDeployment | None, bool]:
    """Take a deployment event: a blocked deployment waits on its plan (once per deployment);
    a deployment that started or ended no longer waits. The caller has checked the token.
    ValueError if it is not a deployment event."""
    fields = gitlab.deployment_fields(payload)
    delivery_id = f"{fields['project_id']}/{fields['deployment_id']}"
    if fields["status"] == gitlab.BLOCKED:
        return _receive(Provider.GITLAB, delivery_id, fields, payload)
    if fields["status"] in gitlab.FINISHED:
        # Compare-and-set: a deployment the worker answered meanwhile keeps its answer; one
        # whose decision was still to be delivered again no longer is.
        GateDeployment.objects.filter(
            Q(state__in=GateDeployment.OPEN)
            | Q(state=State.FAILED, retry_until__isnull=False, given_up_at__isnull=True),
            provider=Provider.GITLAB,
            delivery_id=delivery_id,
        ).update(
            state=State.CLOSED,
            reason=f"GitLab reported the deployment {fields['status']}.",
            decided_at=timezone.now(),
        )
    return None, False


# The worker's answer


@contextlib.contextmanager
def _deployment_lock(deployment_id: int):
    """One worker at a time answers a deployment, for the whole of its calls (which may wait
    through retries): a second one waits, then decides afresh on what the first recorded.
    A session lock, not a transaction's, so that each try is committed as it happens."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, deployment_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, deployment_id])


def _recorder(deployment: GateDeployment, action: str):
    def record(attempt: outbound.Try, number: int) -> None:
        GateAttempt.objects.create(
            deployment=deployment,
            action=action,
            number=number,
            url=attempt.url[:500],
            status_code=attempt.status_code,
            error=attempt.error[:500],
            response=attempt.text[:500],
            started_at=attempt.started_at,
            seconds=attempt.seconds,
        )

    return record


class Undelivered(Exception):
    """A call to GitHub or GitLab failed after its retries (or was refused). `retryable`: the
    last try met a 5xx answer or a network error, which a later try may not."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


class Unanswerable(Undelivered):
    """Nothing can be posted for this deployment, now or later (no app configured, a callback
    URL off the configured API)."""


def _github_token(deployment: GateDeployment) -> str:
    """An installation token for the delivery's installation (exchanged for the app's JWT),
    kept in the cache for most of its hour, so that a burst of deployments asks once."""
    if not (github.configured() and deployment.installation_id):
        raise Unanswerable("The GitHub App is not configured on this instance.")
    key = f"gates:github-token:{deployment.installation_id}"
    cached = cache.get(key)
    if cached:
        return cached
    try:
        jwt = github.app_jwt()
    except (ValueError, TypeError) as error:
        raise Unanswerable(f"The GitHub App's private key cannot sign: {error}") from error
    attempt = outbound.post_json(
        github.token_url(deployment.installation_id),
        None,
        github.headers(jwt),
        record=_recorder(deployment, Action.TOKEN),
    )
    token = attempt.data.get("token")
    if not attempt.ok or not isinstance(token, str):
        raise Undelivered(
            f"GitHub refused an installation token ({attempt.describe()}).",
            retryable=attempt.retryable,
        )
    cache.set(key, token, timeout=TOKEN_SECONDS)
    return token


def _post(deployment: GateDeployment, action: str, comment: str, token: str | None) -> str:
    """Post the answer; returns the token used (GitHub), so that a rejection after a failed
    approval does not ask for another. Raises Undelivered."""
    state = {Action.APPROVE: "approved", Action.REJECT: "rejected", Action.STATUS: None}[action]
    if deployment.provider == Provider.GITHUB:
        if not github.callback_allowed(deployment.callback_url):
            raise Unanswerable("The delivery's callback URL is not on the configured GitHub API.")
        token = token or _github_token(deployment)
        url = deployment.callback_url
        body = github.callback_body(deployment.environment, comment, state)
        headers = github.headers(token)
    else:
        if not settings.GITLAB_TOKEN:
            raise Unanswerable("No GitLab token is configured on this instance.")
        url = gitlab.approval_url(deployment.project_id, deployment.deployment_id)
        body = gitlab.approval_body(state, comment)
        headers = gitlab.headers()
    attempt = outbound.post_json(url, body, headers, record=_recorder(deployment, action))
    if not attempt.ok:
        raise Undelivered(
            f"{deployment.get_provider_display()} answered {attempt.describe()}.",
            retryable=attempt.retryable,
        )
    return token


def _settle(deployment: GateDeployment, **changes) -> None:
    GateDeployment.objects.filter(pk=deployment.pk).update(**changes)
    for name, value in changes.items():
        setattr(deployment, name, value)


def _choose(deployment: GateDeployment, decision: Decision | None) -> str | None:
    """What to post now: the decision once it is `go`, a rejection once the plan can no
    longer become `go`, a status report the first time on GitHub, or nothing."""
    if decision is None:
        return Action.REJECT
    if decision.go:
        return Action.APPROVE
    plan_gone = decision.status == DeploymentPlan.Status.CANCELLED or (
        "The plan is archived." in decision.reasons
    )
    if plan_gone:
        return Action.REJECT
    if deployment.provider == Provider.GITHUB and deployment.status_reported_at is None:
        return Action.STATUS
    return None


def deployment_answer(*, deployment_id: int) -> None:
    """Decide a waiting deployment, or one whose decision is still to be delivered again, and
    post what there is to post. Runs in the worker."""
    with _deployment_lock(deployment_id):
        deployment = GateDeployment.objects.select_related("plan").filter(pk=deployment_id).first()
        if deployment is None or not (deployment.is_open or deployment.is_retried):
            return
        if deployment.is_retried and deployment.retry_until <= timezone.now():
            return  # the sweep gives it up
        _answer(deployment)


def undelivered_retry(*, limit: int = 200) -> list[int]:
    """Queue again the deployments whose decision could not be delivered, while their
    `retry_until` lasts; mark given up (and log) those past it. Each is decided afresh when
    its task runs (the plan may have changed), under the deployment's lock, so that a
    decision is posted once however many of these are queued. Returns the ids queued."""
    now = timezone.now()
    undelivered = GateDeployment.objects.filter(
        state=State.FAILED, retry_until__isnull=False, given_up_at__isnull=True
    )
    expired = list(undelivered.filter(retry_until__lte=now).values_list("pk", flat=True))
    if expired:
        with transaction.atomic():
            GateDeployment.objects.filter(pk__in=expired).update(given_up_at=now)
        logger.error(
            "Gave up delivering the decision of %d gated deployment(s) after %d hours: ids %s",
            len(expired),
            settings.GATE_UNDELIVERED_RETRY_HOURS,
            expired,
        )
    due = list(
        undelivered.filter(retry_until__gt=now)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for deployment_id in due:
        deployment_answer_queue(deployment_id)
    return due


def _answer(deployment: GateDeployment) -> None:
    decision, lead = None, ""
    if deployment.plan is None:
        lead = (
            f"TrustStram Readiness: no plan gates {deployment.repository} → "
            f"{deployment.environment}. An owner maps it on the plan's Deploy gates tab."
        )
        if deployment.provider == Provider.GITLAB:
            # Somebody else may approve it; nothing of ours to say.
            _settle(deployment, state=State.UNMAPPED, reason=lead, decided_at=timezone.now())
            return
    else:
        try:
            # The decision reads the plan's checklists, scores and snapshot; each once (the
            # plan object is fresh and nothing writes to it before the decision is made).
            reads.remember(deployment.plan)
            decision = plan_decision(deployment.plan)
        except Exception:
            logger.exception("The gate decision of deployment %s failed", deployment.pk)
            lead = "TrustStram Readiness could not decide (an error of ours; it is logged)."
    action = _choose(deployment, decision)
    if action is None:
        if deployment.state == State.QUEUED:
            _settle(deployment, state=State.WAITING)
        elif deployment.state == State.FAILED:
            # Retried, but the plan is no longer `go`: it waits again, as any other.
            _settle(deployment, state=State.WAITING, reason="", decided_at=None)
        return
    comment = gate_comment(decision) if decision is not None else lead
    token = None
    try:
        token = _post(deployment, action, comment, token)
    except Unanswerable as error:
        _settle(
            deployment,
            state=State.FAILED,
            reason=str(error),
            decided_at=timezone.now(),
            retry_until=None,
        )
        return
    except Undelivered as error:
        _give_up(deployment, action, decision, error, token)
        return
    now = timezone.now()
    if decision is not None:
        decision_record(
            decision=decision,
            integration=deployment.provider,
            answer={Action.APPROVE: "approved", Action.REJECT: "rejected"}.get(action, "status"),
            deployment=deployment,
        )
    if action == Action.STATUS:
        _settle(deployment, state=State.WAITING, status_reported_at=now)
    elif action == Action.APPROVE:
        _settle(deployment, state=State.APPROVED, reason=decision.reasons[0], decided_at=now)
    else:
        reason = decision.reasons[0] if decision is not None else lead
        _settle(deployment, state=State.REJECTED, reason=reason[:1024], decided_at=now)


def _give_up(
    deployment: GateDeployment,
    action: str,
    decision: Decision | None,
    failure: Undelivered,
    token,
) -> None:
    """A call failed after its retries: the run must not wait on our error. A failed status
    report leaves the deployment waiting (the decision comes later); a failed decision is
    followed by a rejection that says why; if that fails too, the deployment is marked, and
    tried again later by the sweep when the failure may pass (a 5xx, the network)."""
    why = str(failure)
    if action == Action.STATUS:
        _settle(
            deployment,
            state=State.WAITING,
            reason=f"Status report not delivered: {why}",
            decided_at=None,
        )
        return
    if action == Action.APPROVE:
        reason = f"TrustStram Readiness could not deliver its decision: {why}"
        try:
            _post(deployment, Action.REJECT, reason, token)
        except Undelivered as error:
            why = f"{why} Then the rejection: {error}"
            failure = error
        else:
            if decision is not None:
                decision_record(
                    decision=decision,
                    integration=deployment.provider,
                    answer="rejected",
                    deployment=deployment,
                )
            _settle(deployment, state=State.REJECTED, reason=reason, decided_at=timezone.now())
            return
    # Nothing was delivered: the sweep tries again, until a time counted from the first
    # failure (a retry that fails too does not move it); a refusal (4xx) is not retried.
    now = timezone.now()
    retry_until = None
    if failure.retryable:
        retry_until = (deployment.retry_until if deployment.is_retried else None) or (
            now + datetime.timedelta(hours=settings.GATE_UNDELIVERED_RETRY_HOURS)
        )
    _settle(
        deployment, state=State.FAILED, reason=why[:1024], decided_at=now, retry_until=retry_until
    )
