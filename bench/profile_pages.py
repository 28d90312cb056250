"""Where a plan page's time goes: query counts and a pyinstrument profile of each plan page,
a packet request and an API item update, through Django's test client on a throwaway database.

    python -m truststream.embedded exec -- .venv/bin/python bench/profile_pages.py
    PROFILE_ROUNDS=20 PROFILE_HTML=var/profiles .venv/bin/python bench/profile_pages.py

Each page is read steady (nothing changed since the last reader, panels from the cache) and
right after a change (the version bumped before each read). The text profiles go to stdout
(PROFILE_HTML, a directory, also keeps pyinstrument's HTML of each).
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from benchdb import bench_database_create, bench_database_drop
from django.db import connection
from django.test import Client
from django.urls import reverse
from pyinstrument import Profiler

ROUNDS = int(os.environ.get("PROFILE_ROUNDS", "10"))
HTML = os.environ.get("PROFILE_HTML")
PAGES = {
    "overview": "planning:plan_detail",
    "four weeks": "planning:board",
    "checklists": "checklists:checklists",
    "readiness": "checklists:readiness",
    "sign-offs": "signoffs:signoffs",
    "packets": "signoffs:packet_list",
}


class Queries:
    def __init__(self):
        self.sql = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sql.append((time.perf_counter() - started, sql))


def profiled(name: str, call, before=lambda: None) -> None:
    """Run `call` ROUNDS times under the profiler (each after `before`, outside it)."""
    profiler = Profiler(interval=0.0005)
    queries = Queries()
    elapsed = []
    for _ in range(ROUNDS):
        before()
        with connection.execute_wrapper(queries):
            started = time.perf_counter()
            profiler.start()
            call()
            profiler.stop()
            elapsed.append(time.perf_counter() - started)
    elapsed.sort()
    query_time = sum(seconds for seconds, _ in queries.sql) / ROUNDS
    print(
        f"\n=== {name}: median {elapsed[len(elapsed) // 2] * 1000:.1f} ms, "
        f"{len(queries.sql) / ROUNDS:.0f} queries ({query_time * 1000:.1f} ms in the database "
        "driver)"
    )
    slowest = sorted(queries.sql, reverse=True)[:3]
    for seconds, sql in slowest:
        print(f"  slowest query {seconds * 1000:.1f} ms: {sql[:160]}")
    print(profiler.output_text(unicode=True, color=False, show_all=False, timeline=False))
    if HTML:
        Path(HTML).mkdir(parents=True, exist_ok=True)
        Path(HTML, name.replace(" ", "-").replace(":", "") + ".html").write_text(
            profiler.output_html()
        )


def main() -> None:
    from checklists.models import ChecklistItem
    from planning import live
    from planning import services as planning_services
    from planning.models import Task
    from tests.factories import UserFactory, make_plan
    from truststream.services import token_create

    old_name = bench_database_create("profile")
    try:
        owner = UserFactory(username="profile-owner")
        member = UserFactory(username="profile-member")
        plan = make_plan(owner, title="Profiled plan")
        planning_services.membership_add(plan=plan, actor=owner, email=member.email, role="editor")
        client = Client()
        client.force_login(member)
        for name, url_name in PAGES.items():
            url = reverse(url_name, args=[plan.pk])

            def read(url=url):
                assert client.get(url).status_code == 200

            live.bump(plan.pk)
            read()
            profiled(f"{name}, steady", read)
            profiled(f"{name}, after a change", read, before=lambda: live.bump(plan.pk))

        owner_client = Client()
        owner_client.force_login(owner)
        task = Task.objects.filter(plan=plan).first()
        notes = iter(range(10**6))

        def change():
            planning_services.task_update(task=task, actor=owner, notes=f"note {next(notes)}")

        def packet():
            response = owner_client.post(
                reverse("signoffs:packet_request", args=[plan.pk]), {"kind": "draft"}
            )
            assert response.status_code == 302, response.status_code

        profiled("packet request", packet, before=change)

        _, token = token_create(user=member, name="profile")
        item = ChecklistItem.objects.filter(plan=plan).order_by("id").first()
        api = Client(headers={"authorization": f"Bearer {token}"})

        def update():
            item.refresh_from_db()
            response = api.post(
                f"/api/v1/items/{item.pk}/state",
                {"state": "passed", "version": item.version, "links": ["https://ci.example/1"]},
                content_type="application/json",
            )
            assert response.status_code == 200, response.content

        profiled("API item update", update)
    finally:
        bench_database_drop(old_name)


if __name__ == "__main__":
    main()
