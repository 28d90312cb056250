"""What one request reads of a plan, read once.

A plan page is made of panels from several apps (the board, the checklists, the readiness
matrix, the sign-off state, which itself takes the plan's snapshot), and several of them need
the same rows. `once` keeps each of these reads on the plan object for the rest of the
request, so the page pays for each once (DESIGN invariant 8).

Only a plan that was handed to `remember` keeps anything: `plan_view` does it for GET and
HEAD, which change nothing, and `packet_request` for the plan it has just locked, which
nothing else changes before it has read what it needs. A plan loaded anywhere else (a service
that locks the plan afresh, the worker) reads the database each time, so a read made before a
write is never served after it.
"""

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

Value = TypeVar("Value")

_MEMO = "_reads_once"


def remember(plan, version: int | None = None, *, people: int | None = None) -> None:
    """From now on, `once` keeps what it reads of this plan object; with the plan's live
    `version` and the `people` version (`planning.live`, read before the plan was), `cached`
    shares it across requests."""
    setattr(plan, _MEMO, {})
    plan.content_version = None if version is None or people is None else f"{version}.{people}"
    plan.people_version = people


def once(plan, key: str, compute: Callable[[], Value]) -> Value:
    """`compute()`, or what it gave the first time for this plan object when it remembers."""
    memo = getattr(plan, _MEMO, None)
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def known(plan, key: str):
    """What `once` already holds for `key` on this plan object, else None."""
    memo = getattr(plan, _MEMO, None)
    return memo.get(key) if memo is not None else None


def cached(plan, key: str, compute: Callable[[], Value]) -> Value:
    """As `once`, and kept in the cache under the plan's live version for other requests.

    Every change to the plan raises its version when it commits (and a change of anybody's
    name or email the people version, which is part of the key), so a change is never answered
    from before it: the next request asks under a key nobody has written. The version is read
    before the plan, so what is stored under it is at least as new as the change that made
    it. The timeout only gives the memory back; it decides nothing about what is current.
    """
    version = getattr(plan, "content_version", None)
    if version is None:
        return once(plan, key, compute)
    cache_key = f"plan:{plan.pk}:v{version}:{key}"

    def shared() -> Value:
        value = cache.get(cache_key)
        if value is None:
            value = compute()
            cache.set(cache_key, value, settings.PLAN_CACHE_SECONDS)
        return value

    return once(plan, key, shared)
