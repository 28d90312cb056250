"""The compose services, run on the host: no container engine here, so each of our services'
commands runs as a process with that service's environment from docker-compose.yml, against
this machine's Postgres and Redis in place of the `postgres` and `redis` services.

What changes on the way to the host, and nothing else: the database (a fresh one, created and
dropped here) and Redis URLs, the mail host, the container's folders (/app/..., /tmp/...) moved
under a temporary folder, the web port, what the image sets itself (PATH to its Python,
PYTHONPATH), and beat's sweep interval (SIGNOFF_SWEEP_SECONDS), so that it sends a task within
seconds. Files go to S3 as with the compose file's MinIO option (STORAGE_URL naming
`http://minio:9000`), here moto's S3 API on loopback in place of the `minio` service.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from django.db.migrations.loader import MigrationLoader

from tests.conftest import S3_CREDENTIALS, S3Bucket
from tests.deploy.compose import app_services, load
from tests.deploy.tools import ROOT

SECRET_KEY = "compose-on-host-test-secret-key-" + "x" * 30
# The beat's first signature sweep after this many seconds instead of five minutes, so that the
# test sees it send a task.
SWEEP_SECONDS = "2"
STARTUP_SECONDS = 90
# Run in web's environment: store a file where the application stores evidence and packets.
STORE_A_FILE = (
    "from django.core.files.base import ContentFile; "
    "from django.core.files.storage import default_storage; "
    "default_storage.save('compose-probe.txt', ContentFile(b'stored by web'))"
)


def free_port() -> int:
    """A port in this project's range (8400-8499) that nothing listens on."""
    for port in range(8450, 8500):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise AssertionError("no free port in 8450-8499")


@pytest.fixture
def fresh_database():
    """A database of its own for the stack's migrate, on the server the tests use."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"truststream_compose_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stack:
    def __init__(self, tmp_path: Path, database_url: str, bucket: S3Bucket):
        self.tmp = tmp_path
        self.port = free_port()
        self.database_url = database_url
        self.bucket = bucket
        # What an operator puts in .env for the MinIO option.
        variables = {
            "SECRET_KEY": SECRET_KEY,
            "STORAGE_URL": f"s3://{bucket.name}?endpoint_url=http://minio:9000",
            **S3_CREDENTIALS,
        }
        self.services = app_services(load(variables))
        self.processes: dict[str, subprocess.Popen] = {}
        self.started: list[subprocess.Popen] = []

    def on_host(self, text: str) -> str:
        return (
            text.replace("0.0.0.0:8000", f"127.0.0.1:{self.port}")
            .replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")
            .replace("http://minio:9000", self.bucket.endpoint)
            .replace("/app/", f"{self.tmp}/app/")
            # The container's own /tmp, which the host shares with everyone.
            .replace("/tmp/", f"{self.tmp}/tmp/")  # noqa: S108
        )

    def environment(self, name: str) -> dict[str, str]:
        compose = self.services[name.removesuffix("-probe")]["environment"]
        # The compose file points at its own services; the host has its own servers.
        assert urlsplit(compose["DATABASE_URL"]).hostname == "postgres"
        assert urlsplit(compose["REDIS_URL"]).hostname == "redis"
        assert compose["EMAIL_HOST"] == "mailpit"
        host = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": os.environ["REDIS_URL"],
            "EMAIL_HOST": "127.0.0.1",
        }
        environment = {key: self.on_host(str(value)) for key, value in compose.items()}
        return {
            **environment,
            **host,
            # What the image's Dockerfile sets: its Python first on PATH, the code importable.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "HOME": str(self.tmp / "home"),
            # Celery's %h and a container's $HOSTNAME are the same name.
            "HOSTNAME": socket.gethostname(),
        }

    def command(self, name: str) -> list[str]:
        if name == "web-probe":
            return [sys.executable, "manage.py", "shell", "-c", STORE_A_FILE]
        return [self.on_host(arg) for arg in self.services[name]["command"]]

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def run(self, name: str, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(name),
            env=self.environment(name),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    def start(self, name: str, **extra_environment) -> None:
        with (self.tmp / f"{name}.log").open("w") as log:
            self.processes[name] = subprocess.Popen(
                self.command(name),
                env={**self.environment(name), **extra_environment},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(self.processes[name])

    def healthcheck(self, name: str) -> bool:
        test = [self.on_host(arg) for arg in self.services[name]["healthcheck"]["test"]]
        kind, rest = test[0], test[1:]
        argv = ["sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest
        result = subprocess.run(
            argv,
            env=self.environment(name),
            cwd=ROOT,
            capture_output=True,
            check=False,
            timeout=30,
        )
        return result.returncode == 0

    def wait_until(self, name: str, ready) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.processes[name].poll() is None, f"{name} exited:\n{self.log(name)}"
            if ready():
                return
            time.sleep(0.5)
        raise AssertionError(f"{name} did not become ready:\n{self.log(name)}")

    def stop(self, name: str) -> int:
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise AssertionError(f"{name} did not stop on SIGTERM:\n{self.log(name)}") from None

    def forget_sent_tasks(self) -> None:
        """Take the tasks our processes sent (beat's) off the queues: the Redis is shared, and
        whoever consumes these queues next must not find them."""
        origins = [f'"origin": "gen{p.pid}@{socket.gethostname()}"'.encode() for p in self.started]
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        for binding in client.scan_iter(match="_kombu.binding.*"):
            queue = binding.removeprefix(b"_kombu.binding.")
            for message in client.lrange(queue, 0, -1):
                if any(origin in message for origin in origins):
                    client.lrem(queue, 0, message)

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def stack(tmp_path, fresh_database, s3_endpoint):
    for folder in ("app/media", "app/signing", "tmp", "home"):
        (tmp_path / folder).mkdir(parents=True)
    bucket = S3Bucket(endpoint=s3_endpoint, name=f"truststream-compose-{os.getpid()}")
    bucket.client.create_bucket(Bucket=bucket.name)
    stack = Stack(tmp_path, fresh_database, bucket)
    yield stack
    stack.stop_all()
    stack.forget_sent_tasks()


def test_migrate_web_workers_and_beat_start_from_their_compose_definitions(stack):
    assert set(stack.services) == {"migrate", "web", "worker-packets", "worker", "beat"}

    migrated = stack.run("migrate", timeout=180)
    assert migrated.returncode == 0, migrated.stderr
    # Every migration in the code is applied in the stack's database.
    with psycopg.connect(stack.database_url) as connection:
        applied = set(connection.execute("SELECT app, name FROM django_migrations").fetchall())
    assert set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations) <= applied

    stack.start("web")
    stack.start("worker-packets")
    stack.start("worker")
    stack.start("beat", SIGNOFF_SWEEP_SECONDS=SWEEP_SECONDS)

    # Each one's own compose health check, once its log says it is up: web answers /healthz,
    # each worker answers a ping to its node name.
    for name, up in (
        ("web", "Booting worker"),
        ("worker-packets", " ready."),
        ("worker", " ready."),
    ):
        stack.wait_until(name, lambda name=name, up=up: up in stack.log(name))
        assert stack.healthcheck(name), f"{name} failed its health check:\n{stack.log(name)}"
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.port}/healthz", timeout=10) as answer:
        assert answer.status == 200
        assert b'"status": "ok"' in answer.read()
    # Beat has no health check: it is up once it sends a periodic task through Redis.
    stack.wait_until("beat", lambda: "Sending due task signatures-sweep" in stack.log("beat"))
    assert list((stack.tmp / "tmp").glob("celerybeat-schedule*")), "beat keeps its schedule in /tmp"

    # A file stored with web's settings lands in the bucket, not in the container's folder.
    stored = stack.run("web-probe", timeout=60)
    assert stored.returncode == 0, stored.stderr
    assert stack.bucket.keys() == ["compose-probe.txt"]
    assert not any((stack.tmp / "app" / "media").iterdir())

    for name in ("web", "worker-packets", "worker", "beat"):
        assert stack.stop(name) == 0, stack.log(name)
