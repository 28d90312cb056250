import hashlib
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection, transaction

from checklists import services
from checklists.models import ChecklistItem, EvidenceFile, ReadinessScore
from planning import services as planning_services


def item_of(plan, text="DNS records configured") -> ChecklistItem:
    return ChecklistItem.objects.select_related("checklist").get(plan=plan, text=text)


def test_a_new_plan_has_the_playbooks_four_checklists(plan):
    counts = {c.key: c.items.count() for c in plan.checklists.all()}
    assert counts == {"infrastructure": 10, "security": 10, "application": 10, "documentation": 5}
    assert item_of(plan, "CDN configured").conditional
    assert item_of(plan, "SSL certificates installed").critical
    assert set(ChecklistItem.objects.filter(plan=plan).values_list("state", flat=True)) == {"open"}


def test_setting_a_state_records_who_and_when_and_bumps_the_version(plan, editor):
    item = item_of(plan)
    changed = services.item_set_state(
        item=item, actor=editor, state="passed", version=item.version, note="Checked with dig"
    )
    assert (changed.state, changed.version, changed.changed_by, changed.note) == (
        "passed",
        2,
        editor,
        "Checked with dig",
    )
    assert changed.changed_at is not None


def test_a_stale_version_is_refused_and_shows_the_current_state(plan, editor, viewer):
    item = item_of(plan)
    services.item_set_state(item=item, actor=editor, state="failed", version=1)
    with pytest.raises(services.StaleItem) as caught:
        services.item_set_state(item=item, actor=editor, state="passed", version=1)
    assert caught.value.current.state == "failed"
    assert item_of(plan).state == "failed"


def test_not_applicable_needs_a_reason(plan, editor):
    item = item_of(plan, "CDN configured")
    with pytest.raises(ValidationError, match="does not apply"):
        services.item_set_state(item=item, actor=editor, state="not_applicable", version=1)
    assert item_of(plan, "CDN configured").state == "open"


def test_only_conditional_items_may_be_not_applicable_unless_an_owner_overrides(
    plan, editor, owner
):
    item = item_of(plan)
    with pytest.raises(ValidationError, match="Only conditional items"):
        services.item_set_state(
            item=item, actor=editor, state="not_applicable", version=1, reason="No DNS"
        )
    changed = services.item_set_state(
        item=item,
        actor=owner,
        state="not_applicable",
        version=1,
        reason="Served by IP inside the cluster",
        actor_is_owner=True,
    )
    assert (changed.state, changed.na_reason) == (
        "not_applicable",
        "Served by IP inside the cluster",
    )
    reopened = services.item_set_state(item=changed, actor=owner, state="open", version=2)
    assert reopened.na_reason == ""


def test_an_unknown_state_is_refused(plan, editor):
    with pytest.raises(ValidationError):
        services.item_set_state(item=item_of(plan), actor=editor, state="done", version=1)


def test_an_archived_plan_refuses_changes(plan, editor):
    planning_services.plan_archive(plan=plan)
    with pytest.raises(ValidationError, match="archived"):
        services.item_set_state(item=item_of(plan), actor=editor, state="passed", version=1)


@pytest.mark.django_db(transaction=True)
def test_two_people_saving_the_same_item_at_once_lose_nothing_silently(plan, editor, owner):
    """Two database connections race on one version: one wins, the other is told."""
    item = item_of(plan)
    barrier = threading.Barrier(2)
    outcomes = {}

    def save(actor, state):
        try:
            barrier.wait(timeout=10)
            services.item_set_state(item=item, actor=actor, state=state, version=item.version)
            outcomes[state] = "saved"
        except services.StaleItem as stale:
            outcomes[state] = f"stale: now {stale.current.state}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(editor, "passed")),
        threading.Thread(target=save, args=(owner, "failed")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(outcomes.values())[0] == "saved"
    winner = next(state for state, outcome in outcomes.items() if outcome == "saved")
    loser = next(state for state in outcomes if state != winner)
    assert outcomes[loser] == f"stale: now {winner}"
    final = item_of(plan)
    assert (final.state, final.version) == (winner, 2)


@pytest.mark.django_db(transaction=True)
def test_changes_of_two_items_do_not_wait_for_each_other_but_an_archive_waits(plan, editor):
    """While one item's change is still open, another item's change of the same plan goes
    through at once; archiving the plan waits for the open change (and then refuses it)."""
    first, second = ChecklistItem.objects.filter(plan=plan).order_by("id")[:2]
    changed, finish = threading.Event(), threading.Event()

    def hold_open_change():
        try:
            with transaction.atomic():
                services.item_set_state(item=first, actor=editor, state="passed", version=1)
                changed.set()
                finish.wait(timeout=20)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_open_change)
    holder.start()
    try:
        assert changed.wait(timeout=10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            services.item_set_state(item=second, actor=editor, state="failed", version=1)
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
            planning_services.plan_archive(plan=plan)
    finally:
        finish.set()
        holder.join(timeout=20)
    assert ChecklistItem.objects.get(pk=first.pk).state == "passed"
    assert ChecklistItem.objects.get(pk=second.pk).state == "failed"


def test_links_must_be_http_or_https(plan, editor):
    item = item_of(plan)
    for url in ("javascript:alert(1)", "file:///etc/passwd", "ftp://example.com/x", "not a url"):
        with pytest.raises(ValidationError):
            services.link_add(item=item, actor=editor, url=url)
    assert not item.links.exists()
    services.link_add(item=item, actor=editor, url="https://ci.example.com/runs/7")
    assert list(item.links.values_list("url", flat=True)) == ["https://ci.example.com/runs/7"]


PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def test_a_file_is_stored_with_its_sha256_under_a_name_of_ours(plan, editor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("../../etc/passwd.pdf", PDF, "application/pdf")
    evidence = services.file_add(item=item_of(plan), actor=editor, upload=upload)
    assert evidence.name == "passwd.pdf"
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert evidence.size == len(PDF)
    assert ".." not in evidence.file.name and evidence.file.name.startswith("evidence/plan-")
    assert (tmp_path / evidence.file.name).read_bytes() == PDF


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("../../etc/passwd", b"root:x:0:0", "not accepted"),
        ("payload.exe", b"MZ\x90\x00", "not accepted"),
        ("page.html", b"<script>alert(1)</script>", "not accepted"),
        ("fake.pdf", b"<html>not a pdf</html>", "not a .pdf file"),
        ("binary.txt", b"abc\x00def", "must be text"),
        ("empty.txt", b"", "empty"),
        ("...", b"text", "not accepted"),
    ],
)
def test_files_of_forbidden_types_are_refused(
    plan, editor, settings, tmp_path, name, content, message
):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(ValidationError, match=message):
        services.file_add(
            item=item_of(plan), actor=editor, upload=SimpleUploadedFile(name, content)
        )
    assert not EvidenceFile.objects.exists()
    assert not any(tmp_path.rglob("*.*"))


def test_files_over_the_limit_are_refused(plan, editor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.EVIDENCE_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.txt", b"x" * 1025)
    with pytest.raises(ValidationError, match="larger than"):
        services.file_add(item=item_of(plan), actor=editor, upload=upload)
    assert not EvidenceFile.objects.exists()


@pytest.mark.parametrize("score", [0, 11, -1, True, "7"])
def test_scores_outside_one_to_ten_are_refused(plan, owner, score):
    with pytest.raises(ValidationError):
        services.score_set(plan=plan, actor=owner, category="security", score=score, rationale="x")
    assert not ReadinessScore.objects.exists()


def test_a_score_needs_a_rationale_and_a_known_category(plan, owner):
    with pytest.raises(ValidationError, match="Say why"):
        services.score_set(plan=plan, actor=owner, category="security", score=5, rationale=" ")
    with pytest.raises(ValidationError):
        services.score_set(plan=plan, actor=owner, category="vibes", score=5, rationale="x")
    assert not ReadinessScore.objects.exists()


def test_every_version_of_the_evidence_stays_in_the_audit_trail(plan, editor):
    item = item_of(plan)
    services.item_update_note(item=item, actor=editor, note="first", version=1)
    services.item_update_note(item=item, actor=editor, note="second", version=2)
    notes = list(
        ChecklistItem.pgh_event_model.objects.filter(pgh_obj=item)
        .order_by("pgh_id")
        .values_list("note", flat=True)
    )
    assert notes == ["", "first", "second"]
