from django import template
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

from checklists import selectors

register = template.Library()

# CommonMark with raw HTML off: any HTML in a note is shown as text, and markdown-it refuses
# javascript:, vbscript: and data: links.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


@register.filter
def markdown(text: str):
    return mark_safe(_markdown.render(text or ""))


@register.inclusion_tag("checklists/_progress_panel.html")
def checklist_progress(plan):
    """The plan overview's checklists panel."""
    return {"plan": plan, "checklists": selectors.plan_checklists(plan)}


@register.inclusion_tag("checklists/_readiness_panel.html")
def readiness_summary(plan):
    """The plan overview's readiness panel."""
    return {"plan": plan, "readiness": selectors.readiness(plan)}
