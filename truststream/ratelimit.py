"""Counting uses of an action in the shared cache (Redis), so that every web process agrees."""

import time

from django.core.cache import cache


def rate_limit(key: str, *, limit: int, seconds: int) -> int:
    """Count one use of `key`. Returns 0 while at most `limit` uses fell in the current window of
    `seconds`; otherwise the seconds until the window ends (for Retry-After), at least 1.

    A window per clock period costs one INCR per use and forgets itself."""
    now = int(time.time())
    counter = f"ratelimit:{key}:{now // seconds}"
    # Kept past its window, so that it cannot expire between add() and incr(); add() is a no-op
    # when the counter exists, and incr() is atomic in Redis.
    cache.add(counter, 0, timeout=seconds * 2)
    try:
        uses = cache.incr(counter)
    except ValueError:  # evicted meanwhile: this use starts the count again
        cache.set(counter, 1, timeout=seconds * 2)
        uses = 1
    if uses <= limit:
        return 0
    return max(1, seconds - now % seconds)
