"""Live plan pages: a version number per plan, and who has the plan open, both in Redis.

Each open plan page polls `views.poll.live_poll` every few seconds with the ETag it was last given.
The ETag is the plan's version, a digest of who else is there and the person's unread
notifications; while none changed the answer is 304 with an empty body, after three indexed
queries (the user, the plan with the user's permissions, the unread count) and two Redis
round trips. The version goes up when a change to the plan commits (`plan_content_changed`,
member changes, status changes made by the worker); the page then reloads its content in place.

Polling rather than server-sent events: a hundred open pages polling every three seconds is
about 33 short requests a second, which gunicorn on two cores absorbs with CPU to spare
(bench/live_bench.py, docs/benchmarks.md), whereas a hundred held-open event streams would
need a hundred threads or an async server beside the WSGI one.
"""

import hashlib
import json
import logging
import time
from functools import cache

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from truststream.cache import UNAVAILABLE
from truststream.parsing import parse_id

logger = logging.getLogger(__name__)

# How often pages ask, and how long someone counts as "here" after their page last asked.
POLL_SECONDS = 3
PRESENT_SECONDS = 10


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, **settings.REDIS_TIMEOUTS)


def _key(plan_id: int, what: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:live:plan:{plan_id}:{what}"


# While Redis is away, live updates pause and nothing else does: the version reads as 0 (each
# open page reloads its content once, then keeps it until a change after Redis is back), no
# panel is cached (`peek` says there is no count), a change's bump is dropped with a warning,
# and each person sees only themselves as here.


def _start() -> int:
    # Where a plan's count starts when Redis has no count for it: the clock in milliseconds.
    # Panels are cached under the version (planning.reads), so a version must never be handed
    # out twice; a count that Redis lost starts again past every number it gave before.
    return time.time_ns() // 1_000_000


def peek(plan_id: int) -> int | None:
    """The plan's version, or None when Redis has no count for it yet (or is away)."""
    try:
        value = _client().get(_key(plan_id, "version"))
    except UNAVAILABLE as error:
        logger.warning("Live updates paused, Redis unavailable: %s", error)
        return None
    return None if value is None else int(value)


def peek_with_people(plan_id: int) -> tuple[int | None, int | None]:
    """The plan's version (as `peek`) and the people version, in one round trip. The people
    version goes up whenever anybody's name or email changes (`people_bump`): pages show
    names of people who left a plan long ago, so a rename counts as a change of every plan's
    cached panels. It is started when Redis has none; None while Redis is away."""
    try:
        plan_version, people = _client().mget(_key(plan_id, "version"), _people_key())
        if people is None:
            _client().set(_people_key(), _start(), nx=True)
            people = _client().get(_people_key())
    except UNAVAILABLE as error:
        logger.warning("Live updates paused, Redis unavailable: %s", error)
        return None, None
    return (None if plan_version is None else int(plan_version)), int(people)


def _people_key() -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:live:people"


def people_bump() -> None:
    """Somebody's name or email changed: no cached panel of any plan is read again."""
    try:
        pipe = _client().pipeline()
        pipe.set(_people_key(), _start(), nx=True)
        pipe.incr(_people_key())
        pipe.execute()
    except UNAVAILABLE as error:
        logger.warning("A rename's refresh of cached panels dropped, Redis unavailable: %s", error)


def version(plan_id: int) -> int:
    """The plan's version, starting its count if Redis has none; 0 while Redis is away."""
    key = _key(plan_id, "version")
    try:
        value = _client().get(key)
        if value is None:
            _client().set(key, _start(), nx=True)
            value = _client().get(key)
    except UNAVAILABLE as error:
        logger.warning("Live updates paused, Redis unavailable: %s", error)
        return 0
    return int(value)


def bump(plan_id: int, **kwargs) -> None:
    """The plan changed: every open page of it reloads its content at its next poll, and
    what was cached under the old version is no longer read. Also the receiver of
    `plan_content_changed`, sent after the change committed."""
    key = _key(plan_id, "version")
    try:
        pipe = _client().pipeline()
        pipe.set(key, _start(), nx=True)
        pipe.incr(key)
        pipe.execute()
    except UNAVAILABLE as error:
        logger.warning("Live update of plan %s dropped, Redis unavailable: %s", plan_id, error)


def bump_on_commit(plan_id: int) -> None:
    """For changes that `plan_content_changed` does not announce (members, archive, status,
    comments): open pages of the plan reload once the change has committed. A Redis failure
    is logged and does not fail the change."""
    transaction.on_commit(lambda: bump(plan_id), robust=True)


def here(plan_id: int, user_id: int) -> list[int]:
    """Record that `user_id` has the plan open now; the ids of everyone who has, sorted."""
    now = time.time()
    key = _key(plan_id, "present")
    pipe = _client().pipeline()
    pipe.zadd(key, {str(user_id): now})
    pipe.zremrangebyscore(key, 0, now - PRESENT_SECONDS)
    pipe.zrange(key, 0, -1)
    pipe.expire(key, PRESENT_SECONDS * 6)
    try:
        _, _, members, _ = pipe.execute()
    except UNAVAILABLE as error:
        logger.warning("Presence unknown, Redis unavailable: %s", error)
        return [user_id]
    return sorted(int(member) for member in members)


def etag(plan_version: int, present: list[int], unread: int) -> str:
    """What a page last saw: the plan's version, who was here, and its person's unread count."""
    people = hashlib.sha256(",".join(map(str, present)).encode()).hexdigest()[:12]
    return f'"{plan_version}.{people}.{unread}"'


def etag_version(value: str) -> int | None:
    """The plan version inside an ETag a page sent back, or None if it is not one of ours."""
    return parse_id(value.strip().strip('"').split(".", 1)[0])


def poller_context(
    plan_id: int, user, *, version: int, unread: int, present: list[int] | None = None
) -> dict:
    """What the poller element needs: its ETag (from the plan `version` the page was read
    at), the other members who have the plan open, and the bell's count, which it refreshes
    out of band."""
    present = here(plan_id, user.pk) if present is None else present
    tag = etag(version, present, unread)
    others = (
        get_user_model()
        .objects.filter(pk__in=[pk for pk in present if pk != user.pk])
        .order_by("first_name", "last_name", "email")
    )
    return {
        "plan_id": plan_id,
        "etag": tag,
        "headers": json.dumps({"If-None-Match": tag}),
        "others": others,
        "interval": POLL_SECONDS,
        "unread_notifications": unread,
    }
