"""Locks that keep periodic work from being done twice.

Beat runs once, but a second beat started by mistake (a deploy that overlapped, a manifest
scaled to two) would send every periodic task twice. Each periodic task therefore claims its
run first: the first claim within `seconds` wins, any other returns without doing anything.
The claim is a Redis key set only if absent, with an expiry, so that a run that died leaves
nothing to clean up; a run that failed deletes it, so that its retry is not refused.
"""

import functools
import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def once_per(seconds: int):
    """Run the decorated function at most once in any `seconds`, across every process."""

    def decorate(function):
        key = f"periodic:{function.__module__}.{function.__qualname__}"

        @functools.wraps(function)
        def run(*args, **kwargs):
            now = time.time()
            if not cache.add(key, now, timeout=seconds):
                claimed_at = cache.get(key)
                if claimed_at is not None and now - claimed_at < seconds:
                    logger.info("%s already ran in the last %s seconds; skipped", key, seconds)
                    return None
                # The claim is older than the period by this process's clock, which Redis's
                # expiry does not follow when the clock is moved (time_machine in tests).
                cache.set(key, now, timeout=seconds)
            try:
                return function(*args, **kwargs)
            except BaseException:
                # A run that failed (the database was away) gives its claim back, so that its
                # retry, or the other beat's copy, does the work.
                cache.delete(key)
                raise

        return run

    return decorate
