import os
import subprocess
import sys
from pathlib import Path

import pghistory.models
import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from planning.models import DeploymentPlan, PlanMembership
from planning.selectors import default_playbook

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_200_when_postgres_and_redis_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"postgres": "ok", "redis": "ok"},
        "down": [],
    }


def test_healthz_answers_503_naming_redis_when_it_is_down(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["redis"]
    assert response.json()["checks"]["postgres"] == "ok"


def _production_env(**extra) -> dict[str, str]:
    """Only what a production process would be given: no test or debug variables."""
    keep = ("PATH", "HOME", "LANG", "DATABASE_URL", "REDIS_URL")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, **extra}


def _run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=_production_env(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    result = _run_python("import truststream.settings")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_is_off_unless_set():
    result = _run_python(
        "import truststream.settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE)",
        SECRET_KEY="x" * 60,
    )
    assert result.stdout.split() == ["False", "True"]


def _check_deploy(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(
            DJANGO_SETTINGS_MODULE="truststream.settings",
            SECRET_KEY="a-long-random-production-secret-" + "k" * 40,
            ALLOWED_HOSTS="readiness.example.com",
            **env,
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    for name in ("key", "cert"):
        (tmp_path / f"{name}.pem").write_text("mounted secret")
    result = _check_deploy(
        PACKET_SIGNING_KEY_FILE=str(tmp_path / "key.pem"),
        PACKET_SIGNING_CERT_FILE=str(tmp_path / "cert.pem"),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_of_a_packet_key_not_configured_or_not_there(tmp_path):
    result = _check_deploy()
    assert result.returncode != 0
    assert "signoffs.W001" in result.stderr and "No packet signing key" in result.stderr

    result = _check_deploy(
        PACKET_SIGNING_KEY_FILE=str(tmp_path / "missing.pem"),
        PACKET_SIGNING_CERT=("-----BEGIN CERTIFICATE-----\n"),
        PACKET_SIGNATURE_PROFILE="B-LTA",
    )
    assert "signoffs.W001" not in result.stderr
    assert "signoffs.E001" in result.stderr and "missing.pem" in result.stderr
    # A profile above B-B with no timestamp authority stays B-B, and says so.
    assert "signoffs.W002" in result.stderr


def test_audit_events_carry_the_acting_user_and_the_request(client_for, outsider):
    client_for(outsider).post(
        reverse("planning:plan_create"),
        {
            "playbook": default_playbook().pk,
            "title": "Audited plan",
            "release_version": "1.0",
            "environment": "staging",
            "week1_start": "2026-12-07",
            "target_go_live": "2027-01-04",
        },
    )
    plan = DeploymentPlan.objects.get()
    event = DeploymentPlan.pgh_event_model.objects.get(pgh_obj=plan)
    assert event.pgh_label == "insert"
    assert event.title == "Audited plan"
    context = pghistory.models.Context.objects.get(pk=event.pgh_context_id)
    assert context.metadata["user"] == outsider.pk
    assert context.metadata["url"] == reverse("planning:plan_create")
    membership_event = PlanMembership.pgh_event_model.objects.get(pgh_obj__plan=plan)
    assert membership_event.pgh_context_id == event.pgh_context_id


def test_the_demo_data_loads_once(db, settings):
    settings.DEBUG = True
    call_command("load_demo")
    counts = (DeploymentPlan.objects.count(), PlanMembership.objects.count())
    call_command("load_demo")
    assert (DeploymentPlan.objects.count(), PlanMembership.objects.count()) == counts == (1, 3)
    plan = DeploymentPlan.objects.get()
    assert {m.user.email: m.role for m in plan.memberships.select_related("user")} == {
        "olivia@example.com": "owner",
        "eddie@example.com": "editor",
        "vera@example.com": "viewer",
    }


def test_the_demo_data_refuses_to_load_with_debug_off(db):
    with pytest.raises(CommandError, match="runs only with DEBUG on") as refused:
        call_command("load_demo")
    assert "--i-know-this-is-not-production" in str(refused.value)
    assert not DeploymentPlan.objects.exists()
    assert not get_user_model().objects.filter(email="olivia@example.com").exists()


def test_the_demo_data_loads_with_debug_off_when_told_it_is_not_production(db):
    call_command("load_demo", "--i-know-this-is-not-production")
    assert DeploymentPlan.objects.get().memberships.count() == 3
    assert get_user_model().objects.filter(email="oscar@example.com").exists()


def test_docker_compose_loads_no_demo_data():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    commands = [str(service.get("command", "")) for service in compose["services"].values()]
    assert any("migrate" in command for command in commands)
    assert not any("load_demo" in command for command in commands)
