"""Data volume: do many other plans and a large audit trail change what one plan's pages cost?

    make bench
    python -m truststream.embedded exec -- .venv/bin/python bench/volume_bench.py
    # BENCH_PLANS (10000), BENCH_EVENTS (1000000), BENCH_BUSY (400): the events go to that
    # many of the other plans, so each of those has BENCH_EVENTS / BENCH_BUSY events.
    # BENCH_MEMBER_OF (60): the member's plans besides the measured one, made before the first
    # measurement, so that the plan list and the portfolio show the same rows before and after.
    # BENCH_EXPLAIN_DIR: write each query of the plan list, the portfolio, the audit and the
    # activity pages there, with its EXPLAIN (ANALYZE, BUFFERS) plan, before and after seeding.

One member's plan is measured (plan list, portfolio, overview, audit page, activity page:
queries and median time through Django's test client) on an empty database, then again after
seeding, with SQL (INSERT … SELECT over generate_series), BENCH_PLANS other plans (each owned by
someone else) and BENCH_EVENTS checklist-item events spread over BENCH_BUSY of them. The
overview is measured as the first reader after a change (nothing cached). The other pages'
queries are also run under EXPLAIN (ANALYZE, BUFFERS) before and after: the database's own time
(execution, and planning apart), the buffers read, and whether Postgres chose to compile any of
them (JIT), which is what made the audit pages slow when the planner estimated this plan's
trail from the average plan's. Everything happens in a throwaway database created and
dropped here (bench/benchdb.py).
"""

import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")

import django

django.setup()

from benchdb import bench_database_create, bench_database_drop
from django.db import connection
from django.test import Client
from django.urls import reverse

PLANS = int(os.environ.get("BENCH_PLANS", "10000"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
BUSY = int(os.environ.get("BENCH_BUSY", "400"))
MEMBER_OF = int(os.environ.get("BENCH_MEMBER_OF", "60"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
# A folder to write each query's plan into (EXPLAIN (ANALYZE, BUFFERS)), before and after seeding.
EXPLAIN_DIR = os.environ.get("BENCH_EXPLAIN_DIR", "")


def make_plan():
    from checklists import services as checklist_services
    from checklists.models import ChecklistItem
    from tests.factories import UserFactory, make_plan

    owner = UserFactory(username="bench-owner")
    UserFactory(username="bench-other")
    plan = make_plan(owner, title="Volume bench")
    # A trail of some length of its own: every item changed twice.
    for item in ChecklistItem.objects.filter(plan=plan):
        item = checklist_services.item_set_state(
            item=item, actor=owner, state="failed", version=item.version
        )
        checklist_services.item_set_state(
            item=item, actor=owner, state="passed", version=item.version
        )
    copies_make(plan, MEMBER_OF, member=owner, role="viewer", label="mine")
    return owner, plan


def copies_make(plan, count: int, *, member, role: str, label: str) -> None:
    """`count` copies of the plan's row (not its parts), each with `member` as its `role`."""
    from planning.models import DeploymentPlan, PlanMembership

    plans = DeploymentPlan._meta.db_table
    columns = [f.column for f in DeploymentPlan._meta.concrete_fields if f.column != "id"]
    values = [f"{c} || ' {label} ' || g" if c == "title" else c for c in columns]
    memberships = PlanMembership._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH copies AS (INSERT INTO {plans} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM {plans}, generate_series(1, %s) g "
            f"WHERE id = %s RETURNING id) "
            f"INSERT INTO {memberships} (plan_id, user_id, role, created_at) "
            f"SELECT id, %s, %s, now() FROM copies",
            [count, plan.pk, member.pk, role],
        )


def seed(plan) -> float:
    """The other plans and the events; the seconds it took."""
    from django.contrib.auth import get_user_model

    from checklists.models import ChecklistItemEvent
    from planning.models import DeploymentPlan

    started = time.perf_counter()
    other = get_user_model().objects.get(username="bench-other")
    copies_make(plan, PLANS, member=other, role="owner", label="other")
    plans = DeploymentPlan._meta.db_table
    events = ChecklistItemEvent._meta.db_table
    event_columns = [f.column for f in ChecklistItemEvent._meta.concrete_fields]
    event_columns.remove("pgh_id")
    chosen = {
        # Each busy plan gets 25 items, each with its share of the events.
        # (%% is the modulo operator, written for the driver's placeholders.)
        "pgh_obj_id": "1000000000 + g %% (%(busy)s * 25)",
        "id": "1000000000 + g %% (%(busy)s * 25)",
        "plan_id": "(%(busy_ids)s::bigint[])[1 + g %% %(busy)s]",
        "pgh_created_at": "now() - (g %% 2592000) * interval '1 second'",
        "version": "1 + g / (%(busy)s * 25)",
    }
    event_values = [chosen.get(c, f"e.{c}") for c in event_columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {plans} WHERE title LIKE '%% other %%' ORDER BY id LIMIT %s",  # noqa: S608
            [BUSY],
        )
        busy_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"INSERT INTO {events} ({', '.join(event_columns)}) "  # noqa: S608
            f"SELECT {', '.join(event_values)} "
            f"FROM generate_series(1, %(events)s) g, "
            f"(SELECT * FROM {events} WHERE plan_id = %(plan)s LIMIT 1) e",
            {"events": EVENTS, "plan": plan.pk, "busy": len(busy_ids), "busy_ids": busy_ids},
        )
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def measure(owner, plan) -> dict[str, tuple[int, float]]:
    """Queries and median milliseconds of each page."""
    from planning import live

    client = Client()
    client.force_login(owner)
    pages = {
        "plan list": reverse("planning:plan_list"),
        "portfolio": reverse("reports:portfolio"),
        "overview (nothing cached)": reverse("planning:plan_detail", args=[plan.pk]),
        "audit page": reverse("planning:audit", args=[plan.pk]),
        "activity page": reverse("planning:activity", args=[plan.pk]),
    }
    results = {}
    for name, url in pages.items():
        client.get(url)
        queries = []

        def note(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        live.bump(plan.pk)
        with connection.execute_wrapper(note):
            assert client.get(url).status_code == 200
        samples = []
        for _ in range(ROUNDS):
            live.bump(plan.pk)
            started = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        results[name] = (len(queries), statistics.median(samples))
    return results


def explain(owner, plan, stage: str) -> dict[str, tuple[float, float, int, bool]]:
    """The database's own time for the pages' queries (EXPLAIN ANALYZE,
    summed: execution, and planning apart), the shared buffers they touched, and whether
    Postgres compiled any of them (JIT): figures the Python side's share of two busy cores
    does not move."""
    client = Client()
    client.force_login(owner)
    results = {}
    pages = {
        "plan list": reverse("planning:plan_list"),
        "portfolio": reverse("reports:portfolio"),
        "audit page": reverse("planning:audit", args=[plan.pk]),
        "activity page": reverse("planning:activity", args=[plan.pk]),
    }
    for name, url in pages.items():
        captured = []

        def note(execute, sql, params, many, context, captured=captured):
            captured.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(note):
            client.get(url)
        total, planning, buffers, jit = 0.0, 0.0, 0, False
        with connection.cursor() as cursor:
            for number, (sql, params) in enumerate(captured, 1):
                if not sql.lstrip().upper().startswith(("SELECT", "(", "WITH")):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, SUMMARY) " + sql, params)
                lines = [line for (line,) in cursor.fetchall()]
                for line in lines:
                    jit = jit or line.lstrip().startswith("JIT:")
                    if line.startswith("Execution Time:"):
                        total += float(line.split()[2])
                    if line.startswith("Planning Time:"):
                        planning += float(line.split()[2])
                # The plan's top node counts the buffers of everything below it.
                top = next((line for line in lines if "Buffers:" in line), "")
                buffers += sum(int(n) for n in re.findall(r"=(\d+)", top))
                if EXPLAIN_DIR:
                    folder = Path(EXPLAIN_DIR)
                    folder.mkdir(parents=True, exist_ok=True)
                    (folder / f"{stage}-{name.replace(' ', '-')}-{number:02}.txt").write_text(
                        cursor.mogrify(sql, params) + "\n\n" + "\n".join(lines) + "\n"
                    )
        results[name] = (total, planning, buffers, jit)
    return results


def main() -> None:
    old_name = bench_database_create("volume")
    try:
        owner, plan = make_plan()
        before, database_before = measure(owner, plan), explain(owner, plan, "before")
        seconds = seed(plan)
        after, database_after = measure(owner, plan), explain(owner, plan, "after")
    finally:
        bench_database_drop(old_name)
    print(
        f"{PLANS} other plans, {EVENTS} events over {BUSY} of them "
        f"({EVENTS // max(BUSY, 1)} each), seeded in {seconds:.0f} s; medians of {ROUNDS}\n"
    )
    print("| page | empty database | with the volume | change |")
    print("|---|---|---|---|")
    for name, (queries, ms) in before.items():
        queries_after, ms_after = after[name]
        print(
            f"| {name} | {queries} queries, {ms:.0f} ms | {queries_after} queries, "
            f"{ms_after:.0f} ms | {100 * (ms_after - ms) / ms:+.0f} % |"
        )
    print(
        "\n| page | database time before (planning) | with the volume (planning) "
        "| buffers before → with the volume | JIT used |"
    )
    print("|---|---|---|---|---|")
    for name, (ms, planning, buffers, jit) in database_before.items():
        ms_after, planning_after, buffers_after, jit_after = database_after[name]
        print(
            f"| {name} | {ms:.1f} ms ({planning:.1f} ms) | {ms_after:.1f} ms "
            f"({planning_after:.1f} ms) | {buffers} → {buffers_after} "
            f"| {'yes' if jit or jit_after else 'no'} |"
        )


if __name__ == "__main__":
    main()
