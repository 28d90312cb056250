"""Measure live plan pages: 100 open pages polling one plan every three seconds while 10 people
change it, against gunicorn; the time until each page learns of each change, the requests per
second the server absorbs, and its CPU.

    make bench
    python -m truststream.embedded exec -- .venv/bin/python bench/live_bench.py

Everything happens in a throwaway database created and dropped here.
"""

import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from benchdb import bench_database_create, bench_database_drop
from django.conf import settings
from django.test.utils import override_settings

sys.path.insert(0, str(ROOT / "bench"))
from checklists_bench import PORT, percentile, start_gunicorn

PAGES = int(os.environ.get("BENCH_PAGES", "100"))
CHANGERS = int(os.environ.get("BENCH_CHANGERS", "10"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
POLL = 3.0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children that are still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for one in pids:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def setup():
    from django.contrib.sessions.backends.cached_db import SessionStore

    from checklists.models import ChecklistItem
    from planning import services as planning_services
    from tests.factories import UserFactory, make_plan
    from truststream.services import token_create

    owner = UserFactory(username="bench-owner")
    plan = make_plan(owner, title="Live bench")
    viewers, tokens = [], []
    # Sessions signed with the key the gunicorn of `start_gunicorn` runs with.
    bench_key = override_settings(SECRET_KEY="bench-only-secret-key")  # noqa: S106
    bench_key.enable()
    for n in range(PAGES):
        person = UserFactory(username=f"viewer{n}")
        planning_services.membership_add(plan=plan, actor=owner, email=person.email, role="viewer")
        session = SessionStore()
        session["_auth_user_id"] = str(person.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = person.get_session_auth_hash()
        session.create()
        viewers.append(session.session_key)
    bench_key.disable()
    for n in range(CHANGERS):
        person = UserFactory(username=f"editor{n}")
        planning_services.membership_add(plan=plan, actor=owner, email=person.email, role="editor")
        tokens.append(token_create(user=person, name="bench")[1])
    items = list(
        ChecklistItem.objects.filter(plan=plan, critical=False).values_list("pk", flat=True)[:20]
    )
    return plan, viewers, tokens, items


def main() -> None:
    old_name = bench_database_create("live")
    try:
        plan, sessions, tokens, items = setup()
        server = start_gunicorn(settings.DATABASES["default"])
        changes: list[float] = []  # when each change had committed (the API answered)
        seen: list[float] = []  # how long after a change each page learned of it
        counts = {"polls": 0, "not_modified": 0, "changed": 0, "changes": 0, "errors": 0}
        lock = threading.Lock()
        stop = time.monotonic() + SECONDS
        path = f"/plans/{plan.pk}/live/"

        def page(session_key: str, number: int) -> None:
            etag = ""
            time.sleep(random.Random(number).uniform(0, POLL))
            while time.monotonic() < stop:
                started = time.monotonic()
                headers = {"Cookie": f"sessionid={session_key}"}
                if etag:
                    headers["If-None-Match"] = etag
                # A new connection each time: gunicorn closes idle keep-alive connections
                # sooner than the next poll.
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                now = time.monotonic()
                with lock:
                    counts["polls"] += 1
                    if response.status == 304:
                        counts["not_modified"] += 1
                    elif response.status == 200:
                        etag = response.getheader("ETag")
                        if response.getheader("HX-Trigger") == "plan-changed":
                            counts["changed"] += 1
                            # The page learns now of every change since its last poll.
                            seen.extend(now - c for c in changes if started - POLL <= c <= now)
                    else:
                        counts["errors"] += 1
                        counts.setdefault(f"status {response.status}", 0)
                        counts[f"status {response.status}"] += 1
                time.sleep(max(0.0, POLL - (time.monotonic() - started)))

        def changer(token: str, number: int) -> None:
            rng = random.Random(1000 + number)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            while time.monotonic() < stop - POLL * 2:
                time.sleep(rng.uniform(4, 8))
                item = rng.choice(items)
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                conn.request("GET", f"/api/v1/items/{item}", headers=headers)
                current = json.loads(conn.getresponse().read())
                body = json.dumps(
                    {
                        "state": rng.choice(["passed", "failed", "open"]),
                        "version": current["version"],
                    }
                )
                conn.request("POST", f"/api/v1/items/{item}/state", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                with lock:
                    if response.status == 200:
                        changes.append(time.monotonic())
                        counts["changes"] += 1
                    else:
                        counts["errors"] += 1

        cpu_before = cpu_seconds(server.pid)
        started = time.monotonic()
        threads = [threading.Thread(target=page, args=(s, n)) for n, s in enumerate(sessions)]
        threads += [threading.Thread(target=changer, args=(t, n)) for n, t in enumerate(tokens)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        cpu = cpu_seconds(server.pid) - cpu_before
        server.terminate()
        server.wait(timeout=30)
    finally:
        bench_database_drop(old_name)
    if CHANGERS and not seen:
        raise SystemExit(f"No page learned of any change: {counts}")
    requests = counts["polls"] + 2 * counts["changes"]
    print(f"{os.cpu_count()} cores, {SECONDS} s, gunicorn 4 workers × 4 threads\n")
    print("| what | figure |")
    print("|---|---|")
    print(f"| open pages polling every {POLL:.0f} s | {PAGES} |")
    print(f"| people changing checklist items (API) | {CHANGERS}, {counts['changes']} changes |")
    if seen:
        print(
            f"| time until a page learns of a change | median {statistics.median(seen):.2f} s, "
            f"p95 {percentile(seen, 0.95):.2f} s, max {max(seen):.2f} s |"
        )
    print(
        f"| requests absorbed | {requests / wall:.0f}/s ({counts['polls']} polls: "
        f"{counts['not_modified']} answered 304, {counts['errors']} errors) |"
    )
    print(f"| server CPU | {cpu:.1f} s over {wall:.0f} s = {100 * cpu / wall:.0f}% of one core |")


if __name__ == "__main__":
    main()
