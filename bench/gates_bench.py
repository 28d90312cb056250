"""Measure the GitHub deploy gate end to end: 20 deployments at once, from the webhook sent
to gunicorn until the decision reaches (a fake of) GitHub, through a real Celery worker.

Two rounds, each with BENCH_DEPLOYMENTS (20) plans, one repository environment each:
- "go at once": the plans are signed off; each delivery is answered with `approved`
  (token exchange, decision, callback);
- "waits, then go": each plan lacks its last signature; the deliveries get a status report,
  then the 20 signatures are given together and each approval is timed from its signature.

The ack (webhook answered 202) is timed too. Targets: decision p95 within 10 s, ack within 1 s.

    python -m truststream.embedded exec -- .venv/bin/python bench/gates_bench.py

Everything happens in a throwaway database created and dropped here; the fake GitHub API runs
in this process on loopback.
"""

import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("BENCH_PORT", "8461")
SECRET = "bench-webhook-secret"  # noqa: S105
WRONG_SECRET = "not-the-webhook-secret"  # noqa: S105
APP_ID = "4242"

import django

django.setup()

from benchdb import bench_database_create, bench_database_drop
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(ROOT / "bench"))
from checklists_bench import PORT, percentile, start_gunicorn

DEPLOYMENTS = int(os.environ.get("BENCH_DEPLOYMENTS", "20"))
# Worker processes (prefork): two cores run two at a time, the others overlap their waits.
WORKER_PROCESSES = int(os.environ.get("BENCH_WORKER_PROCESSES", "4"))
CALLBACK = "/repos/bench-org/app{n}/actions/runs/{n}/deployment_protection_rule"


def database_url(database: dict) -> str:
    url = (
        f"postgresql://{quote(database['USER'])}:{quote(database['PASSWORD'])}@"
        f"{database['HOST'] if not database['HOST'].startswith('/') else ''}"
        f"{':' + database['PORT'] if database['PORT'] else ''}/{database['NAME']}"
    )
    return url + (f"?host={database['HOST']}" if database["HOST"].startswith("/") else "")


def plans(prefix: str, *, go: bool) -> list:
    """DEPLOYMENTS plans, each gating bench-org/<prefix><n> → production; all signed, or all
    but the Business Owner's signature. Returns (plan, the last signature to give)."""
    from gates import services as gates_services
    from planning import services as planning_services
    from signoffs import services as signoff_services
    from tests.conftest import ROLES
    from tests.factories import UserFactory, make_plan
    from tests.signoffs.test_signoffs import move, ready_to_sign, sign

    made = []
    for n in range(DEPLOYMENTS):
        owner = UserFactory(username=f"{prefix}-owner{n}")
        editor = UserFactory(username=f"{prefix}-editor{n}")
        plan = make_plan(owner, title=f"Gate bench {prefix} {n}")
        planning_services.membership_add(plan=plan, actor=owner, email=editor.email, role="editor")
        holders = {}
        for role in ROLES:
            person = UserFactory(username=f"{prefix}-{role.replace('_', '')}{n}")
            planning_services.membership_add(
                plan=plan, actor=owner, email=person.email, role="viewer"
            )
            signoff_services.role_assign(requirement=plan.roles.get(role=role), assignee=person)
            holders[role] = person
        signoff_services.role_set_required(
            requirement=plan.roles.get(role="compliance_officer"), required=True
        )
        ready_to_sign(plan, owner, editor)
        move(plan, "in_progress")
        move(plan, "awaiting_signoff")
        for role in ROLES:
            if go or role != "business_owner":
                sign(plan, role, holders[role])
        gates_services.mapping_add(
            plan=plan,
            actor=owner,
            provider="github",
            repository=f"bench-org/{prefix}{n}",
            environment="production",
        )
        made.append(
            (plan, lambda p=plan, h=holders: sign(p, "business_owner", h["business_owner"]))
        )
    return made


def deliver(api_url: str, prefix: str, n: int, secret: str = SECRET) -> tuple[float, float, int]:
    """Send one signed delivery; (when it was sent, how long the ack took, its status)."""
    payload = json.loads(
        (ROOT / "tests/gates/fixtures/github_deployment_protection_rule.json").read_text()
    )
    payload["repository"]["full_name"] = f"bench-org/{prefix}{n}"
    payload["deployment_callback_url"] = api_url + CALLBACK.format(n=n).replace("app", prefix)
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "deployment_protection_rule",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256="
        + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }
    sent = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    conn.request("POST", "/hooks/github/", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return sent, time.monotonic() - sent, response.status


def at_once(function, count: int) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def run(n):
        from django.db import connections

        barrier.wait()
        try:
            results[n] = function(n)
        finally:
            connections.close_all()  # the database is dropped at the end

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def wait_for_callbacks(api, prefix: str, state: str | None, timeout: float = 120) -> dict:
    """n -> the arrival of the callback with this state for each of the round's runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {}
        for request in api.to(
            r"/repos/bench-org/[^/]+/actions/runs/\d+/deployment_protection_rule"
        ):
            if f"/bench-org/{prefix}" in request.path and request.body.get("state") == state:
                found[int(request.path.split("/runs/")[1].split("/")[0])] = request.at
        if len(found) == DEPLOYMENTS:
            return found
        time.sleep(0.02)
    raise RuntimeError(f"only {len(found)} of {DEPLOYMENTS} callbacks ({state}) arrived")


def report(name: str, samples: list[float]) -> None:
    print(
        f"{name:<38} n={len(samples):>3}  median {percentile(samples, 0.5):6.2f} s  "
        f"p95 {percentile(samples, 0.95):6.2f} s  max {max(samples):6.2f} s"
    )


def main() -> None:
    from tests.gates import fakes

    old_name = bench_database_create("gates")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    api = fakes.github_api().start()
    os.environ.update(
        {
            "GITHUB_APP_ID": APP_ID,
            "GITHUB_APP_PRIVATE_KEY": key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "GITHUB_API_URL": api.url,
        }
    )
    from django.conf import settings

    worker = None
    server = None
    try:
        plans("go", go=True)
        waiting = plans("wait", go=False)
        url = database_url(settings.DATABASES["default"])
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "truststream.settings",
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-only-secret-key",
            # Its own cache: no installation token kept from an earlier run.
            "CACHE_KEY_PREFIX": f"gates-bench-{os.getpid()}",
        }
        # The setup's own follow-up tasks (signoffs' status checks after each change) are not
        # what is measured: the services above already synced each plan's status.
        from truststream.celery import app

        app.control.purge()
        server = start_gunicorn(settings.DATABASES["default"])
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "truststream",
                "worker",
                "-P",
                "prefork",
                "-c",
                str(WORKER_PROCESSES),
                "-Q",
                "default",
                "--loglevel",
                "WARNING",
            ],
            env=env,
            cwd=ROOT,
        )

        # Wait for the worker's processes, then warm the web processes (their first request
        # loads the views and opens the database and broker connections) with real deliveries
        # for repositories no plan gates, which the worker rejects.
        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=1)) < 1:
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not answer")
        at_once(lambda n: deliver(api.url, "warm", n), DEPLOYMENTS)
        wait_for_callbacks(api, "warm", "rejected")
        print(f"{DEPLOYMENTS} deployments at once, worker with {WORKER_PROCESSES} processes")
        sent = at_once(lambda n: deliver(api.url, "go", n), DEPLOYMENTS)
        assert all(status == 202 for _, _, status in sent), sent
        approved = wait_for_callbacks(api, "go", "approved")
        report("ack (webhook answered)", [ack for _, ack, _ in sent])
        report(
            "go at once: webhook -> approved",
            [approved[n] - sent[n][0] for n in range(DEPLOYMENTS)],
        )

        sent = at_once(lambda n: deliver(api.url, "wait", n), DEPLOYMENTS)
        reported = wait_for_callbacks(api, "wait", None)
        report("ack (webhook answered)", [ack for _, ack, _ in sent])
        report(
            "waits: webhook -> status report",
            [reported[n] - sent[n][0] for n in range(DEPLOYMENTS)],
        )
        # From the moment each last signature has committed (the plan is go from then on).
        signed = at_once(lambda n: (waiting[n][1](), time.monotonic())[1], DEPLOYMENTS)
        approved = wait_for_callbacks(api, "wait", "approved")
        report(
            "then go: last signature -> approved",
            [approved[n] - signed[n] for n in range(DEPLOYMENTS)],
        )
        # The ack alone: one delivery at a time, the worker idle in between.
        acks = []
        for n in range(DEPLOYMENTS):
            acks.append(deliver(api.url, "one", n)[1])
            time.sleep(0.5)
        report("ack, one delivery at a time", acks)
        tokens = len(api.to(fakes.TOKEN_PATH))
        print(f"installation token exchanges: {tokens} (kept for 50 minutes per installation)")
    finally:
        for process in (worker, server):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
        api.stop()
        bench_database_drop(old_name)


if __name__ == "__main__":
    main()
