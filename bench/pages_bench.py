"""Throughput of every plan page beside a bare login-required page, on one gunicorn, in one run.

    make bench
    python -m truststream.embedded exec -- .venv/bin/python bench/pages_bench.py

It starts gunicorn (4 workers × 4 threads, as the other benchmarks) on a throwaway database
with the project's settings and middleware, plus one bare page (bench/bench_urls.py: login
required, a tiny template). A logged-in member's session cookie is given to `wrk` (Debian's
package), which loads the bare page and then each plan page, in turn, for BENCH_SECONDS each
with BENCH_CONNECTIONS connections. Each plan page is compared with the bare run just before
it, so that both saw the same machine. It also counts each page's queries through Django's
test client: steady (nothing changed since the last reader) and right after a change.
"""

import http.client
import os
import re
import shutil
import subprocess
import sys
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
from django.test import Client

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
PORT = int(os.environ.get("BENCH_PORT", "8766"))
PAGES = {
    "overview": "planning:plan_detail",
    "four weeks": "planning:board",
    "checklists": "checklists:checklists",
    "readiness": "checklists:readiness",
    "sign-offs": "signoffs:signoffs",
    "packets": "signoffs:packet_list",
}


def make_plan():
    from planning import services
    from tests.factories import UserFactory, make_plan

    owner = UserFactory(username="bench-owner")
    member = UserFactory(username="bench-member")
    plan = make_plan(owner, title="Pages bench")
    services.membership_add(plan=plan, actor=owner, email=member.email, role="editor")
    return member, plan


def database_url(database: dict) -> str:
    host = "" if database["HOST"].startswith("/") else database["HOST"]
    url = (
        f"postgresql://{quote(database['USER'])}:{quote(database['PASSWORD'])}@{host}"
        f"{':' + database['PORT'] if database['PORT'] else ''}/{database['NAME']}"
    )
    return url + (f"?host={database['HOST']}" if not host else "")


def start_gunicorn() -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DATABASE_URL": database_url(settings.DATABASES["default"]),
        # The session was signed here: the server must check it with the same key.
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_MANIFEST": "0",
        "LOG_LEVEL": "WARNING",
        # Its own keys: a fresh database numbers its plans from 1 again.
        "CACHE_KEY_PREFIX": f"bench-{os.getpid()}",
    }
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "truststream.wsgi", "--pythonpath", "bench"),
            *("--bind", f"127.0.0.1:{PORT}", "--workers", "4", "--threads", "4"),
            *("--log-level", "warning"),
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


def get(path: str, cookie: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    response.read()
    return response.status


def wrk(path: str, cookie: str) -> dict:
    """Requests per second and latency percentiles of one wrk run."""
    output = subprocess.run(
        [
            *("wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{SECONDS}s", "--latency"),
            *("-H", f"Cookie: {cookie}", f"http://127.0.0.1:{PORT}{path}"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx or 3xx responses" in output:
        raise RuntimeError(f"{path} answered errors:\n{output}")

    def latency(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([0-9.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", output)[1]),
        "p50": latency("50%"),
        "p99": latency("99%"),
    }


def query_counts(member, plan) -> dict[str, tuple[int, int]]:
    """Each page's queries: the steady state, and the first reader after a change."""
    from django.urls import reverse

    from planning import live

    client = Client()
    client.force_login(member)
    counts = {}
    for name, url_name in PAGES.items():
        url = reverse(url_name, args=[plan.pk])

        def count(url=url) -> int:
            queries = []

            def note(execute, sql, params, many, context):
                queries.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(note):
                assert client.get(url).status_code == 200
            return len(queries)

        live.bump(plan.pk)  # a change: nothing cached applies
        changed = count()
        counts[name] = (count(), changed)
    return counts


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: bin/system-packages installs it (apt-get install wrk).")
    from django.urls import reverse

    old_name = bench_database_create("pages")
    rows = []
    try:
        member, plan = make_plan()
        client = Client()
        client.force_login(member)
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        counts = query_counts(member, plan)
        connection.close()
        server = start_gunicorn()
        try:
            bare = "/bench/bare/"
            paths = {name: reverse(url_name, args=[plan.pk]) for name, url_name in PAGES.items()}
            for path in [bare, *paths.values()]:
                assert get(path, cookie) == 200, path
            for name, path in paths.items():
                alone = wrk(bare, cookie)
                page = wrk(path, cookie)
                steady, changed = counts[name]
                rows.append(
                    f"| {name} | {page['rps']:.0f}/s | {alone['rps']:.0f}/s "
                    f"| {page['rps'] / alone['rps']:.2f} | {page['p50']:.1f} ms "
                    f"| {page['p99']:.1f} ms | {steady} ({changed} after a change) |"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        bench_database_drop(old_name)
    print(f"{os.cpu_count()} cores, wrk -t2 -c{CONNECTIONS} -d{SECONDS}s per run\n")
    print("| page | page's throughput | bare page just before | ratio | median | p99 | queries |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
