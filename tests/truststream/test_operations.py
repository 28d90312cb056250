import datetime
import os
import re
import subprocess
import sys
from pathlib import Path

import pghistory.models
import pypdf
import pytest
import yaml
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from planning import demo, services
from planning.models import DeploymentPlan, PlanMembership
from planning.selectors import default_playbook
from signoffs.models import ReadinessPacket
from signoffs.policies import signoff_state
from tests.conftest import wait_for

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


def _row_counts() -> dict[str, int]:
    """Rows in every table, the audit trail's included."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_the_demo_data_loads_once(db, settings):
    settings.DEBUG = True
    call_command("load_demo")
    counts = _row_counts()
    call_command("load_demo")
    assert _row_counts() == counts
    assert counts["planning.DeploymentPlan"] == 3
    for plan in DeploymentPlan.objects.all():
        assert {m.user.email: m.role for m in plan.memberships.select_related("user")} == {
            "olivia@example.com": "owner",
            "eddie@example.com": "editor",
            "vera@example.com": "viewer",
            "sam@example.com": "viewer",
        }
    assert not PlanMembership.objects.filter(user__email="oscar@example.com").exists()


def test_the_demo_loads_over_one_made_before_it_had_three_plans(db, settings):
    """A ./var/ from before: the production plan alone, with Olivia, Eddie and Vera."""
    settings.DEBUG = True
    olivia, eddie, vera = (demo._person(*person) for person in demo.DEMO_PEOPLE[:3])
    plan = services.plan_create(
        user=olivia,
        playbook=default_playbook(),
        title=demo.DEMO_PLAN_TITLE,
        release_version="4.4.0",
        environment="production",
        week1_start=datetime.date(2026, 11, 2),
        target_go_live=datetime.date(2026, 11, 30),
    )
    services.membership_add(plan=plan, actor=olivia, email=eddie.email, role="editor")
    services.membership_add(plan=plan, actor=olivia, email=vera.email, role="viewer")
    call_command("load_demo")
    assert DeploymentPlan.objects.count() == 3
    assert plan.memberships.filter(user__email="sam@example.com", role="viewer").exists()
    assert plan.roles.get(role="security_officer").assignee.email == "sam@example.com"
    counts = _row_counts()
    call_command("load_demo")
    assert _row_counts() == counts


def test_the_demo_shows_a_release_from_development_to_production(celery_worker, settings):
    settings.DEBUG = True
    call_command("load_demo")
    plans = {plan.environment: plan for plan in DeploymentPlan.objects.all()}
    assert {env: plan.status for env, plan in plans.items()} == {
        "development": "deployed",
        "staging": "signed_off",
        "production": "in_progress",
    }
    holders = {
        r.requirement.role: (r.requirement.assignee.email, r.state)
        for r in signoff_state(plans["production"]).required
    }
    assert holders == {
        "technical_lead": ("eddie@example.com", "approved"),
        "security_officer": ("sam@example.com", "missing"),
        "operations_manager": ("vera@example.com", "missing"),
        "business_owner": ("olivia@example.com", "missing"),
    }
    assert signoff_state(plans["staging"]).signed_off
    # The worker renders the staging plan's final packet, queued by the command.
    packet = wait_for(
        lambda: ReadinessPacket.objects.filter(plan=plans["staging"], status="ready").first(),
        timeout=90,
    )
    assert packet.kind == "final"
    with packet.file.open("rb") as handle:
        pages = pypdf.PdfReader(handle).pages
        cover = pages[0].extract_text()
    assert "FINAL" in cover and "DRAFT" not in cover
    assert not ReadinessPacket.objects.exclude(plan=plans["staging"]).exists()


def test_the_demo_data_refuses_to_load_with_debug_off(db):
    with pytest.raises(CommandError, match="runs only with DEBUG on") as refused:
        call_command("load_demo")
    assert "--i-know-this-is-not-production" in str(refused.value)
    assert not DeploymentPlan.objects.exists()
    assert not get_user_model().objects.filter(email="olivia@example.com").exists()


def test_the_demo_data_loads_with_debug_off_when_told_it_is_not_production(db):
    call_command("load_demo", "--i-know-this-is-not-production")
    assert DeploymentPlan.objects.count() == 3
    assert get_user_model().objects.filter(email="oscar@example.com").exists()


def test_docker_compose_loads_no_demo_data():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    commands = [str(service.get("command", "")) for service in compose["services"].values()]
    assert any("migrate" in command for command in commands)
    assert not any("load_demo" in command for command in commands)


# Where evidence and packets are stored


def test_a_storage_url_names_the_bucket_prefix_endpoint_and_region():
    from truststream.settings import storage_from_url

    storage = storage_from_url(
        "s3://readiness-files/prod/packets/?endpoint_url=https://minio.internal:9000"
        "&region=eu-central-1&addressing_style=path"
    )
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert (options["bucket_name"], options["location"]) == ("readiness-files", "prod/packets")
    assert options["endpoint_url"] == "https://minio.internal:9000"
    assert (options["region_name"], options["addressing_style"]) == ("eu-central-1", "path")
    # Private objects, and a taken name is never overwritten.
    assert options["default_acl"] is None and options["file_overwrite"] is False
    plain = storage_from_url("s3://readiness-files")["OPTIONS"]
    assert (plain["location"], plain["endpoint_url"], plain["region_name"]) == ("", None, None)


@pytest.mark.parametrize(
    "url, message",
    [
        ("file:///srv/media", "STORAGE_URL must look like s3://BUCKET"),
        ("s3:///prefix", "STORAGE_URL must look like s3://BUCKET"),
        ("s3://KEY:SECRET@bucket", "STORAGE_URL carries no credentials"),
        ("s3://bucket?region=x&acl=public-read", "unknown options (acl)"),
        ("s3://bucket?endpoint_url=ftp://host", "must be an http:// or https:// URL"),
        ("s3://bucket?addressing_style=sideways", "auto, path or virtual"),
    ],
)
def test_a_wrong_storage_url_is_refused_with_the_reason(url, message):
    from django.core.exceptions import ImproperlyConfigured

    from truststream.settings import storage_from_url

    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        storage_from_url(url)


STORAGE_OF = (
    "import truststream.settings as s; d = s.STORAGES['default']; "
    "print(d['BACKEND'], d.get('OPTIONS', {}).get('bucket_name'), "
    "d.get('OPTIONS', {}).get('endpoint_url'), s.STORAGES['staticfiles']['BACKEND'])"
)


def test_storage_is_the_local_folder_unless_a_bucket_is_configured():
    result = _run_python(STORAGE_OF, SECRET_KEY="x" * 60)
    assert result.stdout.split() == [
        "django.core.files.storage.FileSystemStorage",
        "None",
        "None",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
    ]
    result = _run_python(
        STORAGE_OF,
        SECRET_KEY="x" * 60,
        AWS_STORAGE_BUCKET_NAME="readiness-files",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
    )
    assert result.stdout.split() == [
        "storages.backends.s3.S3Storage",
        "readiness-files",
        "http://127.0.0.1:9000",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
    ]


def test_a_storage_url_and_a_bucket_variable_together_are_refused():
    result = _run_python(
        "import truststream.settings",
        SECRET_KEY="x" * 60,
        STORAGE_URL="s3://one",
        AWS_STORAGE_BUCKET_NAME="another",
    )
    assert result.returncode != 0
    assert "Set STORAGE_URL or AWS_STORAGE_BUCKET_NAME, not both" in result.stderr


def test_check_deploy_is_clean_with_storage_on_s3(tmp_path):
    for name in ("key", "cert"):
        (tmp_path / f"{name}.pem").write_text("mounted secret")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(
            DJANGO_SETTINGS_MODULE="truststream.settings",
            SECRET_KEY="a-long-random-production-secret-" + "k" * 40,
            ALLOWED_HOSTS="readiness.example.com",
            STORAGE_URL="s3://readiness-files?endpoint_url=https://s3.example.com&region=eu-west-1",
            PACKET_SIGNING_KEY_FILE=str(tmp_path / "key.pem"),
            PACKET_SIGNING_CERT_FILE=str(tmp_path / "cert.pem"),
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
