"""docker-compose.yml: valid against the Compose specification, and the stack it describes."""

import subprocess

import pytest

from tests.deploy.compose import COMPOSE_FILE, app_services, interpolate, load
from tests.deploy.tools import tool


def test_the_compose_file_is_valid_against_the_compose_specification():
    # check-jsonschema ships the Compose specification's JSON schema (vendor.compose-spec).
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_an_invalid_compose_file(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    # A misspelt key.
    broken.write_text("services:\n  web:\n    image: nginx:1.27\n    restarts: always\n")
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "'restarts' was unexpected" in result.stdout


def test_it_runs_migrate_web_a_worker_per_queue_group_and_one_beat():
    services = app_services(load())
    commands = {name: service["command"] for name, service in services.items()}
    assert commands["migrate"] == ["python", "manage.py", "migrate", "--no-input"]
    assert commands["web"][:2] == ["gunicorn", "truststream.wsgi"]
    queues = {}
    for name, command in commands.items():
        if command[:4] == ["celery", "-A", "truststream", "worker"]:
            queues[name] = command[command.index("-Q") + 1]
    assert queues == {"worker-packets": "packets", "worker": "default,mail"}
    assert "--prefetch-multiplier=1" in commands["worker-packets"]
    beats = [name for name, command in commands.items() if "beat" in command or "--beat" in command]
    assert beats == ["beat"]
    assert not any("load_demo" in " ".join(command) for command in commands.values())


def test_web_workers_and_beat_share_the_image_and_settings_and_wait_for_the_migrations():
    services = app_services(load())
    assert len({repr((s["build"], s["environment"], s["volumes"])) for s in services.values()}) == 1
    for name, service in services.items():
        if name != "migrate":
            condition = service["depends_on"]["migrate"]["condition"]
            assert condition == "service_completed_successfully", name


def test_every_image_is_pinned_to_a_tag_other_than_latest():
    for name, service in load()["services"].items():
        if "image" in service:
            repository, _, tag = service["image"].rpartition(":")
            assert repository and tag and tag != "latest", f"{name}: {service['image']}"


def test_s3_through_minio_is_an_option():
    services = load()["services"]
    assert services["minio"]["profiles"] == ["s3"]
    assert services["minio-bucket"]["profiles"] == ["s3"]
    environment = app_services(load({"SECRET_KEY": "x"}))["web"]["environment"]
    # Unset, the files stay on the media volume.
    assert environment["STORAGE_URL"] == ""
    with_s3 = {
        "SECRET_KEY": "x",
        "STORAGE_URL": "s3://truststream?endpoint_url=http://minio:9000",
        "AWS_ACCESS_KEY_ID": "truststream",
        "AWS_SECRET_ACCESS_KEY": "a-long-random-password",
    }
    environment = app_services(load(with_s3))["web"]["environment"]
    assert environment["STORAGE_URL"] == with_s3["STORAGE_URL"]
    minio = load(with_s3)["services"]["minio"]["environment"]
    assert (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]) == (
        environment["AWS_ACCESS_KEY_ID"],
        environment["AWS_SECRET_ACCESS_KEY"],
    )


def test_compose_refuses_to_start_without_a_secret_key():
    with pytest.raises(ValueError, match="Set SECRET_KEY"):
        load({})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "1"),
        ("${B:-two}", "two"),
        ("${E:-two}", "two"),
        ("${E-two}", ""),
        ("$$HOSTNAME", "$HOSTNAME"),
        ("x-$A-y", "x-1-y"),
    ],
)
def test_interpolation_follows_compose(text, expected):
    assert interpolate(text, {"A": "1", "E": ""}) == expected
