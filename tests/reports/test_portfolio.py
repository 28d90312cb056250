"""The portfolio: every plan the user may see, what blocks each, its trend, filters, CSV."""

import csv
import datetime
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from checklists import services as checklist_services
from checklists.models import ChecklistItem
from planning import services
from planning.models import Task
from reports import charts
from tests.factories import UserFactory, make_plan
from tests.signoffs.test_packets import signed_off
from truststream import services as account_services

URL = reverse("reports:portfolio")
CSV_URL = reverse("reports:portfolio_csv")


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def soon(days: int) -> dict:
    today = timezone.localdate()
    return {
        "week1_start": today - datetime.timedelta(days=20),
        "target_go_live": today + datetime.timedelta(days=days),
    }


@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_members_see_the_plan(who, plan, client_for, request):
    response = client_for(request.getfixturevalue(who)).get(URL)
    assert response.status_code == 200
    assert plan.title in response.content.decode()


def test_a_superuser_sees_only_the_plans_they_are_a_member_of(plan, client_for):
    # The portfolio follows the plan list's rule; superusers export every plan instead.
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert plan.title not in client_for(root).get(URL).content.decode()


def test_an_outsider_sees_no_plan_of_others(plan, outsider, client_for):
    response = client_for(outsider).get(URL)
    assert response.status_code == 200
    assert plan.title not in response.content.decode()
    assert rows_of(client_for(outsider).get(CSV_URL)) == []


def test_anonymous_people_are_sent_to_log_in(plan, client_for):
    for url in (URL, CSV_URL):
        response = client_for(None).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_a_post_is_refused(plan, owner, client_for):
    assert client_for(owner).post(URL).status_code == 405


def test_a_row_says_what_blocks_and_who_has_not_signed(plan, owner, editor, client_for):
    item = ChecklistItem.objects.filter(plan=plan, critical=True).first()
    checklist_services.item_set_state(item=item, actor=editor, state="failed", version=item.version)
    task = Task.objects.filter(plan=plan).first()
    services.task_update(
        task=task, actor=editor, status="blocked", blocked_reason="No firewall window"
    )
    checklist_services.score_set(
        plan=plan, actor=owner, category="security", score=8, rationale="ok"
    )

    page = client_for(owner).get(URL).content.decode()
    assert f"Failed</span> {item.text}" in page
    assert f"Blocked</span> {task.title}" in page
    assert "Technical Lead" in page  # nobody has approved yet
    assert "Not ready" in page  # a failed critical item forces the lowest band

    [row] = rows_of(client_for(owner).get(CSV_URL))
    assert row["Score"] == "20"  # 25 × 8 / 10
    assert row["Band"] == "Not ready for deployment"
    assert f"Failed: {item.text}" in row["Blockers"]
    assert "Blocked task: " + task.title + " (No firewall window)" in row["Blockers"]
    assert row["Missing or stale roles"].startswith("Technical Lead; Security Officer")


def test_at_risk_is_a_near_go_live_that_is_not_go(owner, editor, client_for):
    near = make_plan(owner, title="Near and not ready", **soon(3))
    far = make_plan(owner, title="Far away", **soon(40))
    ready = make_plan(owner, title="Near and signed off", **soon(2))
    services.membership_add(plan=ready, actor=owner, email=editor.email, role="editor")
    holders = {}
    from signoffs import services as signoff_services
    from tests.conftest import ROLES

    for role in ROLES:
        person = UserFactory(username=f"r{role.replace('_', '')}")
        services.membership_add(plan=ready, actor=owner, email=person.email, role="viewer")
        signoff_services.role_assign(requirement=ready.roles.get(role=role), assignee=person)
        holders[role] = person
    signoff_services.role_set_required(
        requirement=ready.roles.get(role="compliance_officer"), required=True
    )
    signed_off(ready, owner, editor, holders)

    rows = rows_of(client_for(owner).get(CSV_URL, {"at_risk": "on"}))
    assert [row["Plan"] for row in rows] == ["Near and not ready"]
    everything = {row["Plan"]: row for row in rows_of(client_for(owner).get(CSV_URL))}
    assert everything["Near and signed off"]["At risk"] == "no"
    assert everything["Far away"]["At risk"] == "no"
    assert everything["Near and not ready"]["Days left"] == "3"
    page = client_for(owner).get(URL, {"at_risk": "on"}).content.decode()
    assert near.title in page and far.title not in page and ready.title not in page
    assert "3 days left" in page


def test_filters_by_environment_and_status(owner, client_for):
    make_plan(owner, title="Staging one", environment="staging")
    make_plan(owner, title="Production one", environment="production")
    rows = rows_of(client_for(owner).get(CSV_URL, {"environment": "production"}))
    assert [row["Plan"] for row in rows] == ["Production one"]
    assert rows_of(client_for(owner).get(CSV_URL, {"status": "deployed"})) == []
    # An htmx request gets the rows alone, for the filters to swap in.
    part = client_for(owner).get(URL, {"environment": "staging"}, headers={"HX-Request": "true"})
    assert "Staging one" in part.content.decode() and "<html" not in part.content.decode()
    # Unknown values are ignored rather than an error.
    assert client_for(owner).get(URL, {"status": "nonsense", "page": "x"}).status_code == 200


def test_filters_by_team_once_there_are_teams(owner, client_for):
    platform = make_plan(owner, title="Platform's plan")
    make_plan(owner, title="Nobody's team")
    assert 'name="team"' not in client_for(owner).get(URL).content.decode()

    team = account_services.team_create(actor=owner, name="Platform")
    services.plan_team_add(plan=platform, actor=owner, team=team, role="viewer")
    page = client_for(owner).get(URL).content.decode()
    assert 'name="team"' in page and ">Platform</option>" in page
    rows = rows_of(client_for(owner).get(CSV_URL, {"team": "platform"}))
    assert [row["Plan"] for row in rows] == ["Platform's plan"]
    part = client_for(owner).get(URL, {"team": "platform"}, headers={"HX-Request": "true"})
    assert "Platform&#x27;s plan" in part.content.decode()
    assert "Nobody&#x27;s team" not in part.content.decode()


def test_the_csv_is_quoted_and_safe_for_spreadsheets(owner, client_for):
    make_plan(
        owner, title='=HYPERLINK("http://evil.example","Click"), "quoted"', release_version="+1"
    )
    response = client_for(owner).get(CSV_URL)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="portfolio-')
    [row] = rows_of(response)
    assert row["Plan"] == '\'=HYPERLINK("http://evil.example","Click"), "quoted"'
    assert row["Release"] == "'+1"
    # Every cell quoted: a comma or a quote never leaves its cell.
    line = response.content.decode().splitlines()[1]
    assert line.startswith('"') and '""quoted""' in line


def test_the_trend_is_the_weighted_total_at_each_week_end(plan, owner, client_for):
    # A Thursday: the week ends read are the five Mondays before it (00:00) and now.
    now = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.UTC)
    with time_machine.travel(datetime.datetime(2026, 11, 11, 9, 0, tzinfo=datetime.UTC)):
        checklist_services.score_set(
            plan=plan, actor=owner, category="infrastructure", score=4, rationale="a"
        )
    with time_machine.travel(datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)):
        checklist_services.score_set(
            plan=plan, actor=owner, category="infrastructure", score=8, rationale="b"
        )
        checklist_services.score_set(
            plan=plan, actor=owner, category="security", score=6, rationale="c"
        )
    with time_machine.travel(now):
        [row] = rows_of(client_for(owner).get(CSV_URL))
        page = client_for(owner).get(URL).content.decode()
    # 26 Oct, 2, 9 Nov: no score; 16 and 23 Nov: 10 (25 × 4); now: 35 (25 × 8 + 25 × 6).
    assert row["Score trend (oldest first)"] == "   10 10 35"
    assert (
        "Score at the end of each of the last 6 weeks: no score, no score, no score, 10, 10, 35"
        in page
    )
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page


def test_the_sparkline_leaves_gaps_and_escapes_its_title():
    svg = charts.sparkline([None, 40.0, 60.0, None, 90.0], threshold=80, title="<b>&")
    assert svg.count("<polyline") == 1  # 40 → 60; 90 stands alone after the gap
    assert "<title>&lt;b&gt;&amp;</title>" in svg
    assert "<script" not in svg and "style=" not in svg


@pytest.mark.parametrize("count", [3, 30])
def test_the_page_costs_the_same_queries_whatever_the_number_of_plans(
    count, owner, editor, client_for
):
    for number in range(count):
        plan = make_plan(owner, title=f"Plan {number}")
        task = Task.objects.filter(plan=plan).first()
        services.task_update(task=task, actor=owner, status="blocked", blocked_reason="waiting")
        checklist_services.score_set(
            plan=plan, actor=owner, category="security", score=7, rationale="ok"
        )
    client = client_for(owner)
    client.get(URL)  # the session and the notification count settle
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    assert len(queries) == EXPECTED_QUERIES, "\n".join(q["sql"][:150] for q in queries)


# The user (1; the session is in the cache), the paginator's count and the page of plans (2),
# playbooks, current scores and blocking items (3), blocked tasks (1), missing sign-offs (3),
# the trend's definitions and scores (2), the notifications' unread count (1), the teams for
# the team filter (1).
EXPECTED_QUERIES = 14


def test_the_bulk_readiness_is_the_matrixs(plan, owner, editor):
    from checklists.selectors import readiness, readiness_summaries

    for category, score in (("infrastructure", 9), ("security", 8), ("monitoring", 5)):
        checklist_services.score_set(
            plan=plan, actor=owner, category=category, score=score, rationale="x"
        )
    for failed in (False, True):
        if failed:
            item = ChecklistItem.objects.filter(plan=plan, critical=True).first()
            checklist_services.item_set_state(
                item=item, actor=editor, state="failed", version=item.version
            )
        plan.refresh_from_db()
        matrix = readiness(plan)
        summary = readiness_summaries([plan])[plan.pk]
        assert (summary.total, summary.band, summary.score_band, summary.scored) == (
            matrix.total,
            matrix.band,
            matrix.score_band,
            matrix.scored,
        )
        assert [b.text for b in summary.blockers] == [i.text for i in matrix.blockers]
