"""Who may use a plan's URLs: one harness, fed a table by each app.

Each app lists every URL of one plan in its `tests/<app>/test_access.py` and subclasses
`PlanAccessTests` with that table (NetBox's generic view test cases work the same way):

    class TestBoardAccess(PlanAccessTests):
        urls = [PlanURL("planning:board", "get", "view"), ...]

The harness then asks every URL as anonymous (sent to log in), as an outsider with every
method (404: nobody learns that a plan exists), as each member role without the permission
(403), with a method the URL does not answer (405), and as a form post without the CSRF token
(refused). A refused request changes nothing in the database. The answer to a form post that
is a plan page refreshes itself from an address that answers GET.

`tests/test_access_tables.py` fails for any plan URL that no table lists.
"""

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import connection
from django.urls import reverse

# What each member role may do with the plan (planning.access grants it from the membership).
ROLE_MAY = {
    "viewer": {"view"},
    "editor": {"view", "change"},
    "owner": {"view", "change", "manage"},
}
METHODS = ("get", "post", "put", "delete")
# What a hostile or mistaken request would try to change, on any of these URLs.
ANY_CHANGE = {
    "assignee": "1",
    "body": "Hacked",
    "direction": "down",
    "email": "x@example.com",
    "group": "Hacked",
    "kind": "draft",
    "name": "Hacked",
    "note": "Hacked",
    "rationale": "Hacked",
    "required": "on",
    "role": "owner",
    "score": "9",
    "state": "passed",
    "status": "in_progress",
    "target": "plan",
    "text": "performance: {}",
    "title": "Hacked",
    "topic": "Hacked",
    "url": "https://x.example",
    "version": "1",
}
# Our apps: their tables and their audit event tables (every tracked change writes an event).
OUR_APPS = ("truststream", "planning", "checklists", "signoffs", "gates")


@dataclass(frozen=True)
class PlanURL:
    """One URL of one plan, with one method it answers and the permission that needs."""

    name: str
    method: str  # "get" or "post"
    perm: str  # "view", "change" or "manage"
    # The URL's other arguments after the plan's id, all of this plan (a task, an item, ...).
    parts: Callable | None = None
    # The live poll answers a signed-out page 401 and reloads it, instead of the login page.
    signed_out_reloads: bool = False

    def url(self, plan) -> str:
        return reverse(self.name, args=[plan.pk, *(self.parts(plan) if self.parts else [])])

    def __str__(self) -> str:
        return f"{self.name}-{self.method}"


def database_state() -> tuple[int, ...]:
    """The number of rows in each of our tables and audit event tables, in one query: a
    refused request inserts nothing, deletes nothing and, through the audit triggers that
    record every update, changes nothing either."""
    tables = sorted(
        model._meta.db_table
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
        if model._meta.managed and not model._meta.proxy
    )
    counts = ", ".join(f"(SELECT count(*) FROM {connection.ops.quote_name(t)})" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return tuple(cursor.fetchone())


class PlanAccessTests:
    """Subclass as `Test<App>Access` with `urls`, a `PlanURL` for every URL of a plan and
    method it answers. Override the `plan` fixture in the module to give the URLs the parts
    they name (an evidence file, a comment, ...)."""

    urls: list[PlanURL] = []

    def pytest_generate_tests(self, metafunc):
        """Each test takes the rows it is about: `url` (every row), `forbidden` (a row and a
        member role without its permission), `name` (every URL once), `post` (the forms)."""
        if "url" in metafunc.fixturenames:
            metafunc.parametrize("url", self.urls, ids=str)
        if "forbidden" in metafunc.fixturenames:
            rows = [
                (url, role)
                for url in self.urls
                for role in ROLE_MAY
                if url.perm not in ROLE_MAY[role]
            ]
            metafunc.parametrize("forbidden", rows, ids=[f"{url}-{role}" for url, role in rows])
        if "name" in metafunc.fixturenames:
            names = list(dict.fromkeys(url.name for url in self.urls))
            metafunc.parametrize("name", names)
        if "post" in metafunc.fixturenames:
            posts = [url for url in self.urls if url.method == "post"]
            metafunc.parametrize("post", posts, ids=str)

    def test_anonymous_is_sent_to_log_in(self, client_for, plan, url):
        before = database_state()
        response = getattr(client_for(None), url.method)(url.url(plan), ANY_CHANGE)
        if url.signed_out_reloads:
            assert (response.status_code, response["HX-Refresh"]) == (401, "true")
        else:
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("account_login"))
        assert database_state() == before

    def test_an_outsider_gets_404_whatever_the_method(self, client_for, plan, outsider, url):
        before = database_state()
        client = client_for(outsider)
        for method in METHODS:
            response = getattr(client, method)(url.url(plan), ANY_CHANGE)
            assert response.status_code == 404, method
        assert database_state() == before

    def test_a_member_without_the_permission_gets_403_and_nothing_changes(
        self, client_for, plan, request, forbidden
    ):
        url, role = forbidden
        before = database_state()
        client = client_for(request.getfixturevalue(role))
        response = getattr(client, url.method)(url.url(plan), ANY_CHANGE)
        assert response.status_code == 403
        assert database_state() == before

    def test_a_method_the_url_does_not_answer_gets_405(self, client_for, plan, owner, name):
        answered = {url.method for url in self.urls if url.name == name}
        wrong = next(method for method in METHODS if method not in answered)
        url = next(url for url in self.urls if url.name == name)
        before = database_state()
        response = getattr(client_for(owner), wrong)(url.url(plan), ANY_CHANGE)
        assert response.status_code == 405
        assert database_state() == before

    def test_a_post_without_the_csrf_token_is_refused(self, client_for, plan, owner, post):
        before = database_state()
        response = client_for(owner, send_token=False).post(post.url(plan), ANY_CHANGE)
        assert response.status_code == 403
        assert b"This form has expired" in response.content
        assert database_state() == before

    def test_a_page_answering_a_post_refreshes_from_an_address_that_answers_get(
        self, client_for, plan, owner, post
    ):
        """A form post with nothing filled in: where the answer is a plan page (a form with its
        errors), its live refresh must not ask the post's URL, which may answer POST only."""
        client = client_for(owner)
        response = client.post(post.url(plan), {})
        page = response.content.decode() if response.status_code in (200, 400) else ""
        if 'id="live"' not in page:
            return  # a redirect, or no live plan page
        [refresh] = re.findall(r'id="live-content" data-refresh-url="([^"]*)"', page)
        refresh = html.unescape(refresh)
        assert client.get(refresh).status_code == 200, refresh
