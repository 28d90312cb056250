"""The score history chart: the weighted total over time with the moments of sign-off, on the
readiness page (through the signoffs tag) and in the packet contents."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from checklists import services as checklist_services
from signoffs import packet_selectors, packets, selectors
from tests.conftest import ROLES
from tests.signoffs.test_signoffs import move, ready_to_sign, sign

UTC = datetime.UTC


def _svg(body: str) -> str:
    found = re.search(r'<svg[^>]*class="score-history-chart".*?</svg>', body, re.S)
    assert found, "no score history chart on the page"
    return found.group(0)


def _title(svg: str) -> str:
    return re.search(r"<title>(.*?)</title>", svg, re.S).group(1)


@pytest.mark.parametrize(
    "who, status", [("owner", 200), ("editor", 200), ("viewer", 200), ("outsider", 404)]
)
def test_the_readiness_page_shows_the_chart_with_its_text_to_members_only(
    client_for, plan, request, who, status
):
    checklist_services.score_set(
        plan=plan,
        actor=request.getfixturevalue("owner"),
        category="security",
        score=8,
        rationale="Pen test passed",
    )
    response = client_for(request.getfixturevalue(who)).get(
        reverse("checklists:readiness", args=[plan.pk])
    )
    assert response.status_code == status
    body = response.content.decode()
    if status != 200:
        assert "score-history-chart" not in body
        return
    svg = _svg(body)
    assert 'role="img"' in svg and "<desc>" in svg and "style=" not in svg
    assert _title(svg).startswith("Score history: the weighted total went from 20 on ")
    # The band lines, in the band colours, and the sentence beside the picture.
    for colour in ("#1d7a3a", "#0f766e", "#9a5b00"):
        assert f'stroke="{colour}"' in svg
    assert '<figcaption id="score-history-caption"' in body


def test_anonymous_visitors_are_sent_to_log_in(client_for, plan):
    response = client_for(None).get(reverse("checklists:readiness", args=[plan.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_new_score_changes_the_cached_chart(
    client_for, plan, owner, viewer, django_capture_on_commit_callbacks
):
    client = client_for(viewer)
    url = reverse("checklists:readiness", args=[plan.pk])
    client.get(url)
    before = _title(_svg(client.get(url).content.decode()))  # now from the cache
    assert before == "Score history: no score given yet."
    # The score raises the plan's version when it commits, as it does outside the test.
    with django_capture_on_commit_callbacks(execute=True):
        checklist_services.score_set(
            plan=plan, actor=owner, category="infrastructure", score=6, rationale="Two racks"
        )
    after = _title(_svg(client.get(url).content.decode()))
    assert after.startswith("Score history: the weighted total went from 15 on ")


def test_the_moments_of_sign_off_are_each_approval_and_entering_signed_off(
    plan, owner, editor, holders
):
    ready_to_sign(plan, owner, editor)
    move(plan, "in_progress")
    move(plan, "awaiting_signoff")
    for role in ROLES:
        sign(plan, role, holders[role])
    plan.refresh_from_db()
    assert plan.status == "signed_off"
    move(plan, "deployed")  # leaving "signed off" is not a moment of sign-off

    moments = selectors.signoff_moments(plan)
    # The audit trail dates an event at the start of its transaction, and here the whole
    # test is one; so the counts, not the order.
    kinds = [m.kind for m in moments]
    assert kinds.count("approval") == len(ROLES) and kinds.count("signed_off") == 1
    labels = {m.label for m in moments}
    assert "Technical Lead approved (" + holders[ROLES[0]].get_full_name() + ")" in labels

    history = packet_selectors.packet_contents(plan)["readiness_history"]
    assert [m["kind"] for m in history["moments"]] == kinds
    assert float(history["steps"][-1]["total"]) == 90.0
    svg = packets.history_picture(
        {**packet_selectors.packet_contents(plan)}, datetime.datetime.now(tz=UTC)
    )
    assert svg.count('class="moment approval"') == len(ROLES)
    assert svg.count('class="moment signed-off"') == 1
    assert f"; {len(ROLES)} approvals; signed off on " in _title(svg)


def test_the_step_line_follows_the_scores_over_time(plan, owner):
    start = datetime.datetime(2026, 11, 2, 9, tzinfo=UTC)
    for day, score in ((0, 4), (7, 8), (14, 10)):
        with time_machine.travel(start + datetime.timedelta(days=day), tick=False):
            checklist_services.score_set(
                plan=plan, actor=owner, category="security", score=score, rationale="x"
            )
    steps = selectors.score_history(plan)["steps"]
    assert [(s.at.day, float(s.total)) for s in steps] == [(2, 10.0), (9, 20.0), (16, 25.0)]
    assert _title(
        packets.history_picture(packet_selectors.packet_contents(plan), start)
    ).startswith(
        "Score history: the weighted total went from 10 on 02 Nov 2026 09:00 UTC to 25 on "
        "16 Nov 2026 09:00 UTC over 3 scores, highest 25."
    )


def test_contents_of_an_earlier_format_have_no_history_picture():
    assert packets.history_picture({"format": "truststram-readiness-packet/2"}, None) == ""
