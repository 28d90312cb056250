"""How the activity feed words the deploy gates' events: mappings, gated deployments and the
decisions handed out. `register` is called from `GatesConfig.ready()`."""

from gates.models import GateDecision, GateDeployment, GateMapping, Provider
from truststream import activity
from truststream.activity import Rules, choice, url


def _link(change, look):
    return url("gates:deploy_gates", look.plan_id)


def _mapping_name(change, look):
    provider = dict(Provider.choices).get(change.data.get("provider"), "")
    return f"{provider} {change.data.get('repository')} → {change.data.get('environment')}"


def _deployment_name(change, look):
    number = change.data.get("deployment_id")
    where = f"{change.data.get('repository')} → {change.data.get('environment')}"
    return f"{where} #{number}" if number else where


def _deployment_state(change, look):
    state = choice(GateDeployment, "state", change.data.get("state"))
    return f"marked gated deployment {_deployment_name(change, look)} {state}", change.data.get(
        "reason", ""
    )


def _decision_insert(change, look):
    answer = change.data.get("answer")
    what = {"approved": "approved", "rejected": "rejected", "status": "reported on"}.get(
        answer, f"answered {change.data.get('decision')} for"
    )
    label = change.data.get("deployment_label") or "a deployment"
    return f"{what} {label} ({change.data.get('decision')})", ""


_MAPPING = Rules(noun="deploy gate", name=_mapping_name, link=_link)
_DEPLOYMENT = Rules(
    noun="gated deployment",
    name=_deployment_name,
    link=_link,
    insert=lambda c, look: (f"received gated deployment {_deployment_name(c, look)}", ""),
    fields={"state": _deployment_state},
    quiet=frozenset({"reason", "decided_at", "status_reported_at"}),
)
_DECISION = Rules(
    noun="gate decision", name=lambda c, look: "", link=_link, insert=_decision_insert
)


def register() -> None:
    activity.register_kind("gates", "Deploy gates")
    activity.register(GateMapping, _MAPPING, kind="gates")
    activity.register(GateDeployment, _DEPLOYMENT, kind="gates")
    activity.register(GateDecision, _DECISION, kind="gates")
