"""Who may use each of a plan's checklist, evidence, comment and readiness URLs (the harness
is tests/access.py)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from checklists import comments, services
from checklists.models import ChecklistItem
from tests.access import PlanAccessTests, PlanURL

ITEM = "DNS records configured"


def item(plan):
    return [ChecklistItem.objects.get(plan=plan, text=ITEM).pk]


def link(plan):
    evidence = ChecklistItem.objects.get(plan=plan, text=ITEM).links.get()
    return [evidence.item_id, evidence.pk]


def file(plan):
    evidence = ChecklistItem.objects.get(plan=plan, text=ITEM).files.get()
    return [evidence.item_id, evidence.pk]


def comment(plan):
    return [plan.comments.get().pk]


def security(plan):
    return ["security"]


URLS = [
    PlanURL("checklists:checklists", "get", "view"),
    PlanURL("checklists:compare", "get", "view"),
    PlanURL("checklists:item_detail", "get", "view", item),
    PlanURL("checklists:item_state", "post", "change", item),
    PlanURL("checklists:item_note", "post", "change", item),
    PlanURL("checklists:item_assign", "post", "change", item),
    PlanURL("checklists:link_add", "post", "change", item),
    PlanURL("checklists:link_remove", "post", "change", link),
    PlanURL("checklists:file_add", "post", "change", item),
    PlanURL("checklists:file_download", "get", "view", file),
    PlanURL("checklists:file_remove", "post", "change", file),
    # Every member comments; only the author edits, the author or an owner deletes
    # (tests/checklists/test_comments.py).
    PlanURL("checklists:comment_add", "post", "view"),
    PlanURL("checklists:comment_edit", "post", "view", comment),
    PlanURL("checklists:comment_delete", "post", "view", comment),
    PlanURL("checklists:readiness", "get", "view"),
    PlanURL("checklists:score_set", "post", "change", security),
]


@pytest.fixture
def plan(plan, editor, viewer, settings, tmp_path):
    """The shared plan with evidence (a link and a file) on one item, and a comment."""
    settings.MEDIA_ROOT = tmp_path
    evidence_on = ChecklistItem.objects.get(plan=plan, text=ITEM)
    services.link_add(item=evidence_on, actor=editor, url="https://ci.example.com/run/1")
    upload = SimpleUploadedFile("report.pdf", b"%PDF-1.7\n%%EOF\n")
    services.file_add(item=evidence_on, actor=editor, upload=upload)
    comments.comment_add(plan=plan, author=viewer, body="Members only")
    return plan


class TestChecklistsAccess(PlanAccessTests):
    urls = URLS
