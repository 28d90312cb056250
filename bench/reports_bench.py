"""The portfolio with 500 plans: server time of the page, its at-risk filter and its CSV.

    make bench
    python -m truststream.embedded exec -- .venv/bin/python bench/reports_bench.py

It works in a throwaway test database (created and dropped here). 500 plans are made through
`plan_create`, as users make them (each with its checklists, four weeks, roles, documents), all
owned by one manager; then their data is varied in bulk: scores given over the last six weeks
(so every trend has points), a failed critical item on every fifth plan, a blocked task on
every seventh, go-lives spread over the next 90 days. Figures are printed as a Markdown table
for docs/benchmarks.md.
"""

import datetime
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
# Keep one connection across requests, as a running server does.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")

import django

django.setup()

from benchdb import bench_database_create, bench_database_drop
from django.db import connection
from django.test import Client
from django.utils import timezone

PLANS = int(os.environ.get("BENCH_PLANS", "500"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
CATEGORIES = [
    "infrastructure",
    "security",
    "application",
    "monitoring",
    "documentation",
    "team_readiness",
]


def timed(function, rounds: int = ROUNDS) -> tuple[float, float, float]:
    """Median and 95th percentile wall time of `function`, and its median CPU time in this
    process (Django's share, without Postgres's), in milliseconds. On a shared, loaded
    machine the wall time includes waiting for a core; the CPU time does not."""
    samples, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    return statistics.median(samples), p95, statistics.median(cpu)


def seed(count: int):
    from checklists.models import ChecklistItem, ReadinessScore
    from planning.models import Task
    from tests.factories import UserFactory, make_plan

    rng = random.Random(16)
    owner = UserFactory(username="bench-manager")
    today = timezone.localdate()
    started = time.perf_counter()
    plans = []
    for number in range(count):
        go_live = today + datetime.timedelta(days=rng.randint(-5, 90))
        plans.append(
            make_plan(
                owner,
                title=f"Release train {number}",
                environment=rng.choice(["development", "staging", "production"]),
                week1_start=go_live - datetime.timedelta(days=28),
                target_go_live=go_live,
            )
        )
    seeded = time.perf_counter() - started
    now = timezone.now()
    scores = []
    for plan in plans:
        for week in range(6, -1, -1):
            for category in rng.sample(CATEGORIES, 3):
                scores.append(
                    ReadinessScore(
                        plan=plan,
                        category=category,
                        score=rng.randint(3, 10),
                        rationale="bench",
                        scored_by=owner,
                    )
                )
                hours = 24 * 7 * week + rng.randint(1, 48)
                scores[-1].moment = now - datetime.timedelta(hours=hours)
    created = ReadinessScore.objects.bulk_create(scores)
    # scored_at is auto_now_add: the moments are set afterwards, in bulk.
    for score in created:
        score.scored_at = score.moment
    ReadinessScore.objects.bulk_update(created, ["scored_at"], batch_size=2000)
    for plan in plans[::5]:
        ChecklistItem.objects.filter(
            pk=ChecklistItem.objects.filter(plan=plan, critical=True).values("pk")[:1]
        ).update(state="failed")
    for plan in plans[::7]:
        Task.objects.filter(pk=Task.objects.filter(plan=plan).values("pk")[:1]).update(
            status="blocked", blocked_reason="Waiting for a firewall change"
        )
    return owner, seeded


def bench(owner) -> list[str]:
    from reports.selectors import PER_PAGE

    client = Client()
    client.force_login(owner)
    rows = []
    for label, url in (
        (f"portfolio, first page ({min(PLANS, PER_PAGE)} of {PLANS} plans)", "/portfolio/"),
        ("portfolio, at risk only", "/portfolio/?at_risk=on"),
        ("portfolio, production only", "/portfolio/?environment=production"),
        (f"portfolio CSV, all {PLANS} plans", "/portfolio.csv"),
    ):
        client.get(url)
        queries = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(url)
        assert response.status_code == 200, response.status_code
        median, p95, cpu = timed(lambda url=url: client.get(url))
        rows.append(
            f"| {label} | {median:.0f} ms | {p95:.0f} ms | {cpu:.0f} ms | {len(queries)} "
            f"queries, {len(response.content) // 1024} KB |"
        )
    return rows


def main() -> None:
    old_name = bench_database_create("reports")
    try:
        owner, seeded = seed(PLANS)
        rows = bench(owner)
    finally:
        bench_database_drop(old_name)
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {PLANS} plans "
        f"(seeded in {seeded:.0f} s), {ROUNDS} rounds\n"
    )
    print(f"Load average after the timings: {os.getloadavg()[0]:.1f}\n")
    print("| what | median | p95 | CPU in Django (median) | notes |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
