import asyncio
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from urllib.error import URLError
from urllib.request import urlopen

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from planning import services
from planning.models import PlanMembership
from signoffs import services as signoff_services
from tests.factories import UserFactory, make_plan


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with no cached data and no rate-limit counters of this run."""
    yield
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def owner(db):
    return UserFactory(username="olivia", first_name="Olivia", last_name="Owens")


@pytest.fixture
def editor(db):
    return UserFactory(username="eddie")


@pytest.fixture
def viewer(db):
    return UserFactory(username="vera")


@pytest.fixture
def outsider(db):
    return UserFactory(username="oscar")


@pytest.fixture
def plan(owner, editor, viewer):
    plan = make_plan(owner)
    services.membership_add(plan=plan, actor=owner, email=editor.email, role="editor")
    services.membership_add(plan=plan, actor=owner, email=viewer.email, role="viewer")
    return plan


class CsrfClient(Client):
    """A test client that enforces CSRF as a browser session does, and sends the token the
    way the pages do (unless `send_token` is off)."""

    def __init__(self, *, send_token: bool = True, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)
        self.send_token = send_token

    def generic(self, method, path, *args, headers=None, **kwargs):
        if self.send_token and method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            # A page with a form sets the cookie (the last one for users the MFA rule holds back).
            for page in ("/plans/", "/accounts/login/", "/accounts/reauthenticate/"):
                if "csrftoken" not in self.cookies:
                    self.get(page)
            headers = {"X-CSRFToken": self.cookies["csrftoken"].value, **(headers or {})}
        return super().generic(method, path, *args, headers=headers, **kwargs)


@pytest.fixture
def client_for():
    """`client_for(user)`: a CSRF-enforcing client logged in as `user` (None: anonymous)."""

    def make(user, *, send_token: bool = True):
        client = CsrfClient(send_token=send_token)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def membership_of():
    def get(plan, user):
        return PlanMembership.objects.get(plan=plan, user=user)

    return get


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker, in a thread, consuming this run's queue on the real Redis."""
    from celery.contrib.testing.worker import start_worker

    from truststream.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


def wait_for(condition, timeout: float = 30.0):
    """Poll `condition` until it returns something true, for work done by another process."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"gave up after {timeout}s waiting for {condition.__name__}")


@pytest.fixture(autouse=True, scope="session")
def _flush_past_the_audit_triggers():
    """Between transactional tests Django empties every table with TRUNCATE, which the audit
    tables refuse, as they must. For that flush, and only there, triggers are switched off
    (the test database's user is a superuser)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def flush(self, sql_list):
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return original(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    DatabaseOperations.execute_sql_flush = flush
    yield
    DatabaseOperations.execute_sql_flush = original


ROLES = [
    "technical_lead",
    "security_officer",
    "operations_manager",
    "business_owner",
    "compliance_officer",
]


@pytest.fixture
def holders(plan, owner):
    """Five members, each holding one role; compliance applies to this plan."""
    people = {}
    for role in ROLES:
        person = UserFactory(username=role.replace("_", ""))
        services.membership_add(plan=plan, actor=owner, email=person.email, role="viewer")
        signoff_services.role_assign(requirement=plan.roles.get(role=role), assignee=person)
        people[role] = person
    signoff_services.role_set_required(
        requirement=plan.roles.get(role="compliance_officer"), required=True
    )
    return people


# S3-compatible storage: a real S3 API (moto's server mode) on loopback, started for the run.
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "truststream-tests", "AWS_SECRET_ACCESS_KEY": "not-secret"}
S3_REGION = "us-east-1"


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """The address of an S3 API served by moto in a process of its own, for the whole run."""
    port = _free_loopback_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"

    def answers():
        if server.poll() is not None:
            raise AssertionError(f"moto's server exited with {server.returncode}")
        try:
            with urlopen(f"{endpoint}/moto-api/", timeout=1):  # noqa: S310 (our loopback URL)
                return True
        except (URLError, ConnectionError):
            return False

    try:
        wait_for(answers)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass
class S3Bucket:
    """A bucket of its own for one test, and the means to look inside it as S3 sees it."""

    endpoint: str
    name: str

    @property
    def url(self) -> str:
        """The STORAGE_URL a process is given to store its files here."""
        return f"s3://{self.name}?endpoint_url={self.endpoint}&region={S3_REGION}"

    @property
    def environment(self) -> dict[str, str]:
        """What another process (a worker) needs to use this bucket as its storage."""
        return {"STORAGE_URL": self.url, **S3_CREDENTIALS}

    @property
    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=S3_REGION,
            aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(entry["Key"] for entry in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


@pytest.fixture
def s3_storage(s3_endpoint, settings, tmp_path):
    """This test's files go to a fresh bucket on the S3 API, configured from a STORAGE_URL as
    a deployment's would be. MEDIA_ROOT points at an empty folder, so a test can show that
    nothing was written to (or read from) the local disk."""
    from truststream.settings import storage_from_url

    bucket = S3Bucket(endpoint=s3_endpoint, name=f"truststream-{uuid.uuid4().hex[:20]}")
    bucket.client.create_bucket(Bucket=bucket.name)
    storage = storage_from_url(bucket.url)
    # The credentials boto3 would otherwise take from the environment of a deployed process.
    storage["OPTIONS"]["access_key"] = S3_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    storage["OPTIONS"]["secret_key"] = S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    settings.STORAGES = {**settings.STORAGES, "default": storage}
    settings.MEDIA_ROOT = tmp_path / "web-media"
    return bucket


@pytest.fixture(autouse=True)
def _no_event_loop_running_outside_browser_tests(request):
    """Playwright's sync API, started once for the browser tests, leaves its event loop marked
    as running in this thread; pyHanko's synchronous calls (`asyncio.run`) then refuse. Tests
    that drive no browser run without it, and get it back afterwards."""
    if request.node.get_closest_marker("browser") is not None:
        yield
        return
    loop = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


@pytest.fixture(scope="session")
def local_pki(tmp_path_factory):
    """The test PKI and timestamp authority (tests/pki), served on loopback for the run."""
    from tests import pki

    served = pki.start(tmp_path_factory.mktemp("pki"))
    yield served
    served.stop()


@pytest.fixture
def signing_with(local_pki, settings):
    """`signing_with(profile)`: packets signed with the test CA's certificate at `profile`,
    and seals timestamped, by the local authority."""

    def configure(profile: str):
        for name, value in local_pki.signing_settings().items():
            setattr(settings, name, value)
        settings.PACKET_SIGNATURE_PROFILE = profile
        return local_pki

    return configure
