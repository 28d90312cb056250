"""Measure the phase board's server time and a 1 MB YAML import, on real Postgres and Redis.

    make bench
    python -m truststream.embedded exec -- .venv/bin/python bench/planning_bench.py

It works in a throwaway test database (created and dropped here), so it never touches the
application's data. Figures are printed as a Markdown table for docs/benchmarks.md.
"""

import os
import platform
import statistics
import sys
import time
import tracemalloc
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

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))


def timed(function, rounds: int = ROUNDS) -> tuple[float, float]:
    """Median and 95th percentile wall time of `function`, in milliseconds."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def make_plans():
    from planning.models import Task
    from tests.factories import UserFactory, make_plan

    owner = UserFactory(username="bench-owner")
    small = make_plan(owner, title="Default plan")
    large = make_plan(owner, title="Ten times the tasks")
    items = list(large.tasks.all())
    Task.objects.bulk_create(
        Task(
            plan=large,
            phase=item.phase,
            group=item.group,
            title=f"{item.title} ({copy})",
            position=1000 * copy + index,
            due_on=item.due_on,
            assignee=owner,
        )
        for copy in range(1, 10)
        for index, item in enumerate(items)
    )
    return owner, small, large


def bench_board(owner, plans) -> list[str]:
    """Each board as the next reader of an unchanged plan finds it (its content cached under
    the plan's version) and as the first reader after a change (nothing cached)."""
    from planning import live

    client = Client()
    client.force_login(owner)
    rows = []
    for plan in plans:
        url = f"/plans/{plan.pk}/board/"
        tasks = plan.tasks.count()
        for label, change in (("unchanged plan", False), ("first reader after a change", True)):
            live.bump(plan.pk)
            client.get(url)
            if change:
                live.bump(plan.pk)
            queries = []

            def count(execute, sql, params, many, context, queries=queries):
                queries.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                response = client.get(url)
            assert response.status_code == 200

            def read(url=url, change=change, plan=plan):
                if change:
                    live.bump(plan.pk)
                client.get(url)

            median, p95 = timed(read)
            rows.append(
                f"| phase board, {tasks} tasks, {label} | {median:.1f} ms | {p95:.1f} ms "
                f"| {len(queries)} queries, {len(response.content) // 1024} KB of HTML |"
            )
    return rows


def one_megabyte_documents(spec) -> dict[str, str]:
    from planning import requirements

    valid = requirements.to_yaml(spec.kind, spec.definition, spec.values)
    padding = "# " + "x" * 78 + "\n"
    commented = valid + padding * ((1024 * 1024 - len(valid)) // len(padding))
    # The same size in unknown fields: refused while it is read, nothing is saved.
    unknown = [f"    field_{n:06d}: {n}\n" for n in range(1024 * 1024 // 22)]
    lines = valid.splitlines(keepends=True)
    wrong = "".join(lines[:2] + unknown + lines[2:])
    # Just under the limit on values: every field is checked and each unknown one reported.
    many = "".join(lines[:2] + unknown[:900] + lines[2:])
    return {
        "valid, padded with comments": commented,
        "47,000 unknown fields": wrong,
        "900 unknown fields (40 KB)": many,
    }


def bench_import(plan) -> list[str]:
    from planning import requirements, services

    spec = plan.requirements.get(kind="performance")
    rows = []
    for name, text in one_megabyte_documents(spec).items():
        size = len(text.encode()) / 1024 / 1024

        def run(text=text):
            try:
                services.requirement_import(spec=spec, text=text)
                return "imported"
            except requirements.RequirementsInvalid as invalid:
                first = invalid.problems[0].message
                return f"refused ({len(invalid.problems)} problems; first: {first})"

        outcome = run()
        tracemalloc.start()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        median, p95 = timed(run, rounds=max(3, ROUNDS // 6))
        rows.append(
            f"| YAML import, {size:.2f} MB, {name} | {median:.0f} ms | {p95:.0f} ms "
            f"| {outcome}; peak Python memory {peak / 1024 / 1024:.1f} MB |"
        )
    return rows


def main() -> None:
    old_name = bench_database_create("planning")
    try:
        owner, small, large = make_plans()
        rows = bench_board(owner, [small, large]) + bench_import(small)
    finally:
        bench_database_drop(old_name)
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, {ROUNDS} rounds\n")
    print("| what | median | p95 | notes |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
