"""Measure the readiness computation for 1,000 items, and API item updates from 20 concurrent
clients against gunicorn, counting lost updates (there must be none).

    make bench
    python -m truststream.embedded exec -- .venv/bin/python bench/checklists_bench.py

Everything happens in a throwaway database created and dropped here.
"""

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")

import django

django.setup()

from benchdb import bench_database_create, bench_database_drop
from django.conf import settings
from django.db import connection

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "20"))
UPDATES_PER_CLIENT = int(os.environ.get("BENCH_UPDATES", "50"))
PORT = int(os.environ.get("BENCH_PORT", "8765"))


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def make_plan():
    from checklists import services
    from checklists.models import ChecklistItem
    from tests.factories import UserFactory, make_plan

    owner = UserFactory(username="bench-owner")
    plan = make_plan(owner, title="A thousand items")
    items = list(ChecklistItem.objects.filter(plan=plan))
    states = ["passed", "open", "failed", "passed", "not_applicable"]
    copies = [
        ChecklistItem(
            plan=plan,
            checklist_id=item.checklist_id,
            text=f"{item.text} ({n})",
            position=100 * n + item.position,
            critical=item.critical and n % 7 == 0,
            state=states[n % len(states)],
            na_reason="bench" if states[n % len(states)] == "not_applicable" else "",
        )
        for n in range(1, 1000 // len(items) + 1)
        for item in items
    ]
    ChecklistItem.objects.bulk_create(copies[: 1000 - len(items)])
    for key in ("infrastructure", "security", "application", "monitoring", "documentation"):
        services.score_set(plan=plan, actor=owner, category=key, score=7, rationale="bench")
    return owner, plan


def bench_readiness(plan) -> list[str]:
    from checklists import readiness as matrix
    from checklists import selectors
    from checklists.models import ChecklistItem

    count = ChecklistItem.objects.filter(plan=plan).count()
    samples = []
    for _ in range(30):
        started = time.perf_counter()
        selectors.readiness(plan)
        samples.append((time.perf_counter() - started) * 1000)
    items = list(ChecklistItem.objects.filter(plan=plan).select_related("checklist"))
    scores = selectors.current_scores(plan)
    definition = plan.playbook.definition["readiness"]
    pure = []
    for _ in range(30):
        started = time.perf_counter()
        matrix.compute(definition, items, scores)
        pure.append((time.perf_counter() - started) * 1000)
    return [
        f"| readiness, {count} items, with its 2 queries | {statistics.median(samples):.1f} ms "
        f"| {percentile(samples, 0.95):.1f} ms | |",
        f"| readiness, {count} items, computation alone | {statistics.median(pure):.2f} ms "
        f"| {percentile(pure, 0.95):.2f} ms | |",
    ]


def start_gunicorn(database: dict) -> subprocess.Popen:
    url = (
        f"postgresql://{quote(database['USER'])}:{quote(database['PASSWORD'])}@"
        f"{database['HOST'] if not database['HOST'].startswith('/') else ''}"
        f"{':' + database['PORT'] if database['PORT'] else ''}/{database['NAME']}"
    )
    if database["HOST"].startswith("/"):
        url += f"?host={database['HOST']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "truststream.settings",
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_MANIFEST": "0",
        "LOG_LEVEL": "WARNING",
        # The clients share one token: the benchmark measures updates, not the rate limit
        # (each update is a read and a write).
        "API_RATE_PER_MINUTE": str(2 * CLIENTS * UPDATES_PER_CLIENT),
        # Its own rate counters: a fresh database numbers its users and tokens from 1 again.
        "CACHE_KEY_PREFIX": f"bench-{os.getpid()}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "truststream.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "4",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    for _ in range(100):
        try:
            probe = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            probe.request("GET", "/healthz")
            if probe.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def bench_api(owner, plan) -> list[str]:
    from checklists.models import ChecklistItem, EvidenceLink
    from planning import services as planning_services
    from tests.factories import UserFactory
    from truststream.services import token_create

    editor = UserFactory(username="bench-editor")
    planning_services.membership_add(plan=plan, actor=owner, email=editor.email, role="editor")
    _, token = token_create(user=editor, name="bench")
    targets = list(
        ChecklistItem.objects.filter(plan=plan, critical=False)
        .order_by("id")
        .values_list("pk", flat=True)[:10]
    )
    versions_before = dict(
        ChecklistItem.objects.filter(pk__in=targets).values_list("pk", "version")
    )
    server = start_gunicorn(settings.DATABASES["default"])
    latencies: list[float] = []
    results = {"saved": 0, "conflict": 0, "error": 0}
    error_statuses: dict[str, int] = {}
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(number: int) -> None:
        rng = random.Random(number)
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        for n in range(UPDATES_PER_CLIENT):
            item = rng.choice(targets)
            conn.request("GET", f"/api/v1/items/{item}", headers=headers)
            read = conn.getresponse()
            current = json.loads(read.read())
            if read.status != 200:
                with lock:
                    results["error"] += 1
                    error_statuses[f"GET {read.status}"] = (
                        error_statuses.get(f"GET {read.status}", 0) + 1
                    )
                continue
            body = json.dumps(
                {
                    "state": rng.choice(["passed", "failed", "open"]),
                    "version": current["version"],
                    "links": [f"https://ci.example.com/bench/{number}/{n}"],
                }
            )
            started = time.perf_counter()
            conn.request("POST", f"/api/v1/items/{item}/state", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            outcome = {200: "saved", 409: "conflict"}.get(response.status, "error")
            with lock:
                latencies.append(elapsed)
                results[outcome] += 1
                if outcome == "error":
                    key = f"POST {response.status}"
                    error_statuses[key] = error_statuses.get(key, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    server.terminate()
    server.wait(timeout=30)

    # Every update the API said it saved must be in the database: each one bumped its item's
    # version by one and added one link.
    versions = dict(ChecklistItem.objects.filter(pk__in=targets).values_list("pk", "version"))
    applied = sum(versions[pk] - versions_before[pk] for pk in targets)
    links = EvidenceLink.objects.filter(item_id__in=targets, url__contains="/bench/").count()
    lost = results["saved"] - applied
    assert links == applied, (links, applied)
    total = sum(results.values())
    return [
        f"| API item updates, {CLIENTS} clients × {UPDATES_PER_CLIENT}, 10 shared items, "
        f"gunicorn 4×4 | {statistics.median(latencies):.1f} ms | "
        f"{percentile(latencies, 0.95):.1f} ms | {total / wall:.0f} updates/s; "
        f"{results['saved']} saved, {results['conflict']} refused as stale (409), "
        f"{results['error']} errors {error_statuses or ''}, {lost} lost updates |",
    ]


def main() -> None:
    old_name = bench_database_create("checklists")
    try:
        owner, plan = make_plan()
        rows = bench_readiness(plan)
        connection.close()
        rows += bench_api(owner, plan)
    finally:
        bench_database_drop(old_name)
    print(f"{os.cpu_count()} cores\n")
    print("| what | median | p95 | notes |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
