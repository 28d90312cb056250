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


@register.inclusion_tag("checklists/_my_items.html")
def my_checklist_items(user):
    """The "My work" page's checklist items panel."""
    return {"items": list(selectors.items_waiting_for(user))}


@register.inclusion_tag("checklists/_thread.html", takes_context=True)
def comment_thread(context, plan, task=None, item=None):
    """The comments about the plan, one of its tasks or one of its checklist items."""
    from checklists.selectors import thread_context

    return {
        **thread_context(plan, context["request"].user, task=task, item=item),
        "csrf_token": context.get("csrf_token"),
        "request": context["request"],
    }


@register.inclusion_tag("checklists/_my_mentions.html")
def my_mentions(user):
    """The "My work" page's panel of comments that mention the user."""
    from checklists.comments import target_of

    mentions = selectors.mentions_of(user)
    for mention in mentions:
        mention.about, mention.title, mention.url = target_of(mention.comment)
    return {"mentions": mentions, "user": user}
