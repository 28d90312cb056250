"""The auditor export: the change population of a period, checked against the audit trail."""

import csv
import datetime
import io
import json

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from checklists import services as checklist_services
from reports.models import AuditorExport
from signoffs import services as signoff_services
from signoffs.models import ReadinessPacket, Signoff
from signoffs.policies import signoff_state
from tests.factories import UserFactory, make_plan
from tests.signoffs.test_packets import signed_off
from tests.signoffs.test_signoffs import move
from truststream.models import AuditSeal

URL = reverse("reports:auditor_export")


def today() -> str:
    return timezone.localdate().isoformat()


def export(client, fmt="csv", start=None, end=None):
    return client.post(
        URL, {"date_from": start or today(), "date_to": end or today(), "format": fmt}
    )


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def deploy(plan, owner, editor, holders, *, render: bool = False):
    """Sign the plan off and deploy it today; with `render`, its final packet is rendered
    first (which takes a while)."""
    signed_off(plan, owner, editor, holders)
    packet = signoff_services.packet_request(plan=plan, requested_by=owner, kind="final")
    if render:
        signoff_services.packet_render(packet_id=packet.pk)
    plan.seal_before_deployment = AuditSeal.objects.filter(plan_id=plan.pk).latest("number")
    move(plan, "deployed")
    # A seal after deployment (a draft asked for later) is not the seal at deployment.
    signoff_services.packet_request(plan=plan, requested_by=owner, kind="draft")
    plan.refresh_from_db()
    return plan


@pytest.fixture
def deployed(plan, owner, editor, holders):
    return deploy(plan, owner, editor, holders)


def test_the_rows_are_the_audit_trails_signatures_seals_and_packet(
    plan, owner, editor, holders, client_for
):
    deployed = deploy(plan, owner, editor, holders, render=True)
    response = export(client_for(owner))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="change-population-{today()}-to-{today()}.csv"'
    )
    rows = csv_rows(response)

    # Every signature the trail recorded for the plan, once each, as it was inserted.
    SignoffEvent = apps.get_model("signoffs", "SignoffEvent")
    inserted = SignoffEvent.objects.filter(plan_id=deployed.pk, pgh_label="insert").order_by(
        "pgh_id"
    )
    assert len(rows) == inserted.count() == 5
    for row, event in zip(rows, inserted, strict=True):
        assert row["plan_id"] == str(deployed.pk)
        assert row["role_title"] == event.role_title
        assert row["approver"] == event.printed_name
        assert row["meaning"] == event.meaning
        assert row["digest"] == event.digest
        assert row["decision"] == "approve"
        assert row["signed_at"] == event.signed_at.astimezone(datetime.UTC).isoformat().replace(
            "+00:00", "Z"
        )
        assert row["state"] == "current"
        assert row["expired_at"] == ""

    # The seal current when the plan became deployed: the newest one taken before it.
    seal = deployed.seal_before_deployment
    assert AuditSeal.objects.filter(plan_id=deployed.pk, number__gt=seal.number).exists()
    packet = ReadinessPacket.objects.get(plan=deployed, kind="final")
    for row in rows:
        assert row["seal_at_deployment"] == str(seal.number)
        assert row["seal_at_deployment_digest"] == seal.digest
        assert row["final_packet_sha256"] == packet.sha256
        assert row["deployed_at"].startswith(today())
        assert row["audit_chain_verified"] == "yes"
        assert row["audit_chain_seals_checked"] == str(
            AuditSeal.objects.filter(plan_id=deployed.pk).count()
        )


def test_json_holds_the_same_and_the_export_is_recorded(deployed, owner, client_for):
    response = export(client_for(owner), fmt="json")
    assert response["Content-Type"] == "application/json"
    document = json.loads(response.content)
    [record] = document["plans"]
    assert record["plan_id"] == deployed.pk
    assert [a["digest"] for a in record["approvals"]] == list(
        Signoff.objects.filter(plan=deployed)
        .order_by("signed_at", "id")
        .values_list("digest", flat=True)
    )
    assert document["period"] == {"from": today(), "to": today()}

    # Recorded, through the audit trail's triggers, with who asked and from which request.
    [recorded] = AuditorExport.objects.all()
    assert (recorded.requested_by, recorded.format, recorded.plan_count, recorded.row_count) == (
        owner,
        "json",
        1,
        5,
    )
    assert recorded.plan_ids == [deployed.pk]
    event = apps.get_model("reports", "AuditorExportEvent").objects.get(pgh_obj_id=recorded.pk)
    assert event.pgh_context.metadata["user"] == owner.pk
    assert event.pgh_context.metadata["url"] == URL


def test_a_tampered_trail_is_reported_as_broken(deployed, owner, client_for):
    # What someone with the database's superuser could do: switch the triggers off and edit
    # a sealed event of the plan.
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                "UPDATE signoffs_signoffevent SET meaning = 'Nothing to see' WHERE pgh_id = "
                "(SELECT min(pgh_id) FROM signoffs_signoffevent WHERE plan_id = %s)",
                [deployed.pk],
            )
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
    rows = csv_rows(export(client_for(owner)))
    assert {row["audit_chain_verified"] for row in rows} == {"no"}
    assert (
        "an event it sealed, or the context it was made in, was altered"
        in rows[0]["audit_chain_problem"]
    )


def test_a_stale_signature_is_listed_as_stale(plan, owner, editor, holders, client_for):
    signed_off(plan, owner, editor, holders)
    # The security score is covered by the readiness section every role signs.
    checklist_services.score_set(
        plan=plan, actor=owner, category="security", score=10, rationale="better"
    )
    rows = csv_rows(export(client_for(owner)))
    # As the sign-off page says: the roles that cover readiness went stale, the others hold.
    page = {role.requirement.title: role.state for role in signoff_state(plan).roles}
    assert {row["role_title"]: row["state"] for row in rows} == {
        title: {"approved": "current", "stale": "stale"}[state] for title, state in page.items()
    }
    assert "stale" in page.values()
    assert {row["deployed_at"] for row in rows} == {""}
    assert {row["seal_at_deployment"] for row in rows} == {""}


def test_plans_outside_the_period_are_left_out(deployed, owner, client_for):
    response = export(client_for(owner), start="2025-01-01", end="2025-12-31")
    assert response.status_code == 200
    assert csv_rows(response) == []
    assert AuditorExport.objects.get().row_count == 0


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("owner", True),
        ("editor", False),
        ("viewer", False),
        ("outsider", False),
        ("superuser", True),
    ],
)
def test_who_may_export_the_plan(who, sees, deployed, client_for, request):
    if who == "superuser":
        person = UserFactory(username="root", is_superuser=True, is_staff=True)
    else:
        person = request.getfixturevalue(who)
    assert client_for(person).get(URL).status_code == 200
    rows = csv_rows(export(client_for(person)))
    assert bool(rows) is sees
    assert all(row["plan_id"] == str(deployed.pk) for row in rows)


def test_anonymous_people_are_sent_to_log_in(deployed, client_for):
    for response in (client_for(None).get(URL), export(client_for(None))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert not AuditorExport.objects.exists()


def test_another_owners_plan_is_never_exported(deployed, client_for):
    someone = UserFactory(username="another")
    make_plan(someone, title="Their own plan")
    assert csv_rows(export(client_for(someone))) == []


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to", "cannot be before"),
        ({"date_from": "2023-01-01", "date_to": "2026-01-01"}, "date_to", "at most two years"),
        ({"date_from": "yesterday", "date_to": "2026-01-01"}, "date_from", "Enter a valid date"),
        ({"date_from": "1900-01-01", "date_to": "1900-02-01"}, "date_from", "between 2000"),
        (
            {"date_from": "2026-01-01", "date_to": "2026-01-02", "format": "xlsx"},
            "format",
            "valid choice",
        ),
        ({}, "date_from", "required"),
    ],
)
def test_a_bad_period_is_a_field_error(data, field, message, owner, client_for):
    response = client_for(owner).post(URL, {"format": "csv", **data})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert (
        f'id="id_{field}_error"' in response.content.decode()
        or "errorlist" in response.content.decode()
    )
    assert not AuditorExport.objects.exists()


def test_two_years_to_the_day_is_allowed(owner, client_for):
    response = client_for(owner).post(
        URL, {"date_from": "2024-02-29", "date_to": "2026-02-28", "format": "csv"}
    )
    assert response.status_code == 200
