"""Counting uses of an action in the shared cache (Redis), so that every web process agrees."""

import time

from django.core.cache import cache


def rate_limit(key: str, *, limit: int, seconds: int) -> int:
    """Count one use of `key`. Returns 0 while at most `limit` uses fell in the current window of
    `seconds`; otherwise the seconds until the window ends (for Retry-After)."""
    now = int(time.time())
    counter = f"ratelimit:{key}:{now // seconds}"
    # add() is a no-op when the counter exists; incr() is atomic in Redis.
    cache.add(counter, 0, timeout=seconds + 1)
    if cache.incr(counter) <= limit:
        return 0
    return seconds - now % seconds
