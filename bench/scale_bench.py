"""Scale-out on one machine: two gunicorn instances on different ports, two workers on the
`packets` queue and one on `default,mail`, one beat, all on the same Postgres, Redis and file
storage. For BENCH_SECONDS (60), people sign off, CI pipelines update checklist items (with
the version they read, so that a concurrent change is refused rather than overwritten) and
owners ask for packets, each call going to either web instance in turn. Then it checks:

- no duplicate packet for the same revision (or for the same content);
- every packet rendered, its file in the storage with the SHA-256 the database records;
- no lost update: each item's version moved by exactly the number of updates answered 200;
- `manage.py verify_audit` finds the seal chain intact.

    make bench
    .venv/bin/python bench/scale_bench.py
    STORAGE_URL=s3://... .venv/bin/python bench/scale_bench.py   # against S3 (see below)

Postgres and Redis are private (bench/cluster.py, ports from BENCH_PORT + 10). Files go to the
run's own folder (MEDIA_ROOT) unless STORAGE_URL is set: it is passed to every process as it
is (with the AWS_* credentials), so the same run checks S3 instead; the checks read files
through Django's `default_storage`, whatever it is.
"""

import http.client
import json
import os
import random
import re
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cluster import BASE_PORT, Cluster, wait_until

PORT = BASE_PORT + 10
WEB_PORTS = (PORT + 2, PORT + 3)
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
PIPELINES = int(os.environ.get("BENCH_PIPELINES", "4"))
CSRF = "c" * 32  # the unmasked form of a CSRF secret is accepted as the token too
ROLES = [
    "technical_lead",
    "security_officer",
    "operations_manager",
    "business_owner",
    "compliance_officer",
]


class Calls:
    """Every call made: (kind, port, status, seconds)."""

    def __init__(self):
        self.rows: list[tuple[str, int, int, float]] = []
        self.lock = threading.Lock()
        self.turn = 0

    def port(self) -> int:
        with self.lock:
            self.turn += 1
            return WEB_PORTS[self.turn % 2]

    def call(self, kind: str, method: str, path: str, body=None, headers=None):
        port = self.port()
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            status, content = response.status, response.read()
        except OSError:
            status, content = 0, b""
        finally:
            connection.close()
        with self.lock:
            self.rows.append((kind, port, status, time.monotonic() - started))
        return status, content


def browser_headers(session_key: str) -> dict:
    return {
        "Cookie": f"sessionid={session_key}; csrftoken={CSRF}",
        "X-CSRFToken": CSRF,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def pipeline(
    calls: Calls, stop, token: str, items: list[int], accepted: Counter, pause: float = 0
) -> None:
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    while not stop.is_set():
        item = random.choice(items)
        status, body = calls.call("item read", "GET", f"/api/v1/items/{item}", headers=auth)
        if status != 200:
            continue
        version = json.loads(body)["version"]
        state = random.choice(["passed", "open", "failed"])
        note = f"note {random.random()}"
        status, _ = calls.call(
            "item update",
            "POST",
            f"/api/v1/items/{item}/state",
            json.dumps({"state": state, "note": note, "version": version}),
            auth,
        )
        if status == 200:
            with calls.lock:
                accepted[item] += 1
        stop.wait(pause)


def signer(calls: Calls, stop, plan_id: int, role: str, session_key: str) -> None:
    headers = browser_headers(session_key)
    page = f"/plans/{plan_id}/signoffs/{role}/sign/"
    while not stop.is_set():
        status, body = calls.call("sign page", "GET", page, headers={"Cookie": headers["Cookie"]})
        found = re.search(rb'name="digest" value="([0-9a-f]{64})"', body)
        if status == 200 and found:
            calls.call(
                "sign-off",
                "POST",
                page,
                f"decision=approve&comment=bench&digest={found.group(1).decode()}",
                headers,
            )
        time.sleep(2)


def requester(calls: Calls, stop, plan_ids: list[int], session_key: str) -> None:
    headers = browser_headers(session_key)
    while not stop.is_set():
        kind = random.choice(["draft", "final"])
        plan_id = random.choice(plan_ids)
        calls.call(
            "packet request", "POST", f"/plans/{plan_id}/packets/request/", f"kind={kind}", headers
        )
        time.sleep(1)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> int:
    cluster = Cluster("scale", port=PORT, extra_env={"API_RATE_PER_MINUTE": "100000"})
    os.environ.update(cluster.env)
    checks: dict[str, bool] = {}
    passed = False
    try:
        print(f"servers and logs in {cluster.folder}", flush=True)
        cluster.start_servers()
        import django

        django.setup()
        import hashlib

        from allauth.account.internal.flows import login as allauth_login
        from django.contrib.auth import get_user_model
        from django.contrib.sessions.backends.cached_db import SessionStore
        from django.core.files.storage import default_storage
        from django.db.models import Count

        from checklists.models import ChecklistItem
        from planning import services as planning_services
        from planning.models import DeploymentPlan
        from signoffs import services as signoff_services
        from signoffs.models import ReadinessPacket, Signoff
        from truststream.services import token_create

        people = get_user_model().objects
        owner = people.get(email="olivia@example.com")
        plan = DeploymentPlan.objects.filter(memberships__user=owner).order_by("pk").first()

        def session_of(user) -> str:
            session = SessionStore()
            session["_auth_user_id"] = str(user.pk)
            session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
            session["_auth_user_hash"] = user.get_session_auth_hash()
            # As if each had just typed their password again: signing asks for it.
            session[allauth_login._AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
            session[allauth_login.AUTHENTICATION_METHODS_SESSION_KEY] = [
                {"method": "password", "at": time.time() + SECONDS, "reauthenticated": True}
            ]
            session.create()
            return session.session_key

        # A second plan, where people sign while one pipeline changes it now and then: on the
        # demo plan the pipelines change something every fraction of a second, and each
        # signature there is refused as made on a page that is already out of date (400).
        from tests.factories import make_plan

        signed = make_plan(owner, title="Scale bench: signing")
        signers = {}
        for role in ROLES:
            person = people.create_user(
                username=f"bench-{role}", email=f"{role}@example.com", password=None
            )
            planning_services.membership_add(
                plan=signed, actor=owner, email=person.email, role="editor"
            )
            requirement = signed.roles.get(role=role)
            signoff_services.role_assign(requirement=requirement, assignee=person)
            signers[role] = session_of(person)
        plans = [plan, signed]
        items = list(
            ChecklistItem.objects.filter(plan=plan).order_by("pk").values_list("pk", flat=True)
        )
        signed_items = list(
            ChecklistItem.objects.filter(plan=signed).order_by("pk").values_list("pk", flat=True)
        )
        before = dict(ChecklistItem.objects.filter(plan__in=plans).values_list("pk", "version"))
        _, token = token_create(user=owner, name="scale bench")
        owner_session = session_of(owner)

        for n, port in enumerate(WEB_PORTS, 1):
            cluster.start_web(f"web{n}", port)
        cluster.start_worker("packets1", "packets")
        cluster.start_worker("packets2", "packets")
        cluster.start_worker("rest", "default,mail", concurrency=2)
        cluster.start_beat()

        calls, accepted, stop = Calls(), Counter(), threading.Event()
        threads = [
            *(
                threading.Thread(target=pipeline, args=(calls, stop, token, items, accepted))
                for _ in range(PIPELINES)
            ),
            threading.Thread(
                target=pipeline, args=(calls, stop, token, signed_items, accepted, 5.0)
            ),
            *(
                threading.Thread(target=signer, args=(calls, stop, signed.pk, role, key))
                for role, key in signers.items()
            ),
            threading.Thread(
                target=requester, args=(calls, stop, [plan.pk, signed.pk], owner_session)
            ),
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(SECONDS)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started

        def settled():
            return not ReadinessPacket.objects.filter(status__in=["queued", "rendering"]).exists()

        drain_started = time.monotonic()
        wait_until(settled, 300, "every packet rendered")
        drained = time.monotonic() - drain_started

        packets = list(ReadinessPacket.objects.filter(plan__in=plans))
        by_revision = (
            ReadinessPacket.objects.values("plan", "revision", "kind")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        by_content = (
            ReadinessPacket.objects.values("plan", "content_digest", "kind")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        checks["no duplicate packet for a revision"] = not by_revision and not by_content
        checks["every packet rendered"] = bool(packets) and all(
            p.status == "ready" for p in packets
        )
        stored_ok = True
        for packet in packets:
            if packet.status != "ready" or not default_storage.exists(packet.file.name):
                stored_ok = False
                continue
            with default_storage.open(packet.file.name) as stored:
                stored_ok &= hashlib.sha256(stored.read()).hexdigest() == packet.sha256
        checks["every file in the storage, with its SHA-256"] = stored_ok
        after = dict(ChecklistItem.objects.filter(plan__in=plans).values_list("pk", "version"))
        lost = {pk: (after[pk] - before[pk], accepted[pk]) for pk in before}
        lost = {pk: moved for pk, moved in lost.items() if moved[0] != moved[1]}
        checks["no lost update"] = not lost
        verify = cluster.manage("verify_audit")
        checks["verify_audit intact"] = verify.returncode == 0

        kinds = sorted({row[0] for row in calls.rows})
        figures = {
            "seconds of load": round(elapsed),
            "calls": len(calls.rows),
            "calls per second": round(len(calls.rows) / elapsed, 1),
            "calls per web instance": dict(Counter(row[1] for row in calls.rows)),
            "answers 5xx or none": sum(1 for row in calls.rows if row[2] >= 500 or row[2] == 0),
            "by kind (count, statuses, median ms, p95 ms)": {
                kind: (
                    sum(1 for row in calls.rows if row[0] == kind),
                    dict(Counter(row[2] for row in calls.rows if row[0] == kind)),
                    round(1000 * statistics.median([r[3] for r in calls.rows if r[0] == kind])),
                    round(1000 * percentile([r[3] for r in calls.rows if r[0] == kind], 0.95)),
                )
                for kind in kinds
            },
            "item updates accepted": sum(accepted.values()),
            "signatures recorded": Signoff.objects.filter(plan=signed).count(),
            "packets": len(packets),
            "packets by kind": dict(Counter(p.kind for p in packets)),
            "median render seconds": statistics.median(
                [p.render_seconds for p in packets if p.render_seconds] or [0]
            ),
            "seconds to render what was still queued when the load stopped": round(drained, 1),
            "verify_audit": (verify.stdout or verify.stderr).strip().splitlines()[-1:],
            "storage": os.environ.get("STORAGE_URL") or "local files (MEDIA_ROOT)",
        }
        print(json.dumps({"figures": figures, "checks": checks, "lost": lost}, indent=2))
        passed = all(checks.values())
        return 0 if passed else 1
    finally:
        cluster.close()
        if passed:
            cluster.remove()
        else:
            print(f"logs kept in {cluster.logs}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
