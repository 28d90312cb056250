import datetime

from django import template
from django.utils import timezone

from checklists.charts import score_history_chart, score_history_summary
from planning import reads
from planning.models import Task
from signoffs import policies, selectors, status

register = template.Library()


@register.inclusion_tag("signoffs/_signoffs_panel.html")
def signoff_summary(plan):
    """The plan overview's sign-offs panel."""
    return {"plan": plan, "state": policies.signoff_state(plan)}


@register.inclusion_tag("signoffs/_my_signoffs.html")
def my_signoffs(user):
    """The "My work" page's sign-offs panel."""
    return {"roles": selectors.signoffs_waiting_for(user)}


@register.inclusion_tag("signoffs/_status_actions.html", takes_context=True)
def status_actions(context, plan):
    """The buttons that move the plan to another status, for those who may."""
    targets = [(value, plan.Status(value).label) for value in status.transitions_for(plan)]
    return {"plan": plan, "targets": targets, "csrf_token": context.get("csrf_token")}


@register.simple_tag
def missing_signoffs(plans) -> dict[int, list[str]]:
    """For a page of plans: what each still needs to be signed off."""
    return selectors.missing_signoffs([plan.pk for plan in plans])


@register.inclusion_tag("signoffs/_score_history.html")
def score_history(plan):
    """The readiness page's score history chart, with the moments of sign-off (which
    checklists cannot read), drawn up to the end of today. Cached under the plan's version,
    which every new score and signature raises, and the day."""
    today = timezone.localdate()

    def draw() -> dict:
        end = timezone.make_aware(
            datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time())
        )
        history = selectors.score_history(plan)
        return {
            "chart": score_history_chart(
                history["steps"],
                history["bands"],
                history["moments"],
                start=history["start"],
                end=end,
            ),
            "summary": score_history_summary(history["steps"], history["moments"]),
        }

    return {"plan": plan, **reads.cached(plan, f"score-history:{today}", draw)}


@register.filter
def utc_time(value) -> str:
    """A time from a snapshot (ISO text) or a datetime, as `2026-11-28 14:05 UTC`."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def task_status(value: str) -> str:
    return Task.Status(value).label if value in Task.Status.values else value


@register.inclusion_tag("signoffs/_packet_panel.html", takes_context=True)
def packet_summary(context, plan):
    """The plan overview's packet panel: the latest packet and a button to ask for one. The
    status only chooses which kind the button offers; the request checks the digests."""
    return {
        "plan": plan,
        "latest": plan.packets.order_by("-requested_at", "-id").first(),
        "signed_off": plan.status in (plan.Status.SIGNED_OFF, plan.Status.DEPLOYED),
        "csrf_token": context.get("csrf_token"),
    }
