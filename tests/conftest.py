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
