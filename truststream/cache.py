"""The cache (Redis) as something the site can do without for a while.

Everything kept in the cache is either a copy of what Postgres holds (sessions are `cached_db`,
page fragments) or a counter that may start again (rate limits). So when Redis is away, a read
finds nothing, a write keeps nothing and a counter starts from its first use: pages keep
answering from the database, and rate limits let everyone through until Redis is back. Each
failure is logged as a warning, without a traceback, once per call.
"""

import logging

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# What a stopped, restarting or unreachable Redis raises (a refused or timed-out connection,
# "LOADING" while it reads its data back).
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


def _away(operation: str, error: Exception) -> None:
    logger.warning("Cache unavailable during %s, carrying on without it: %s", operation, error)


class DegradingRedisCache(RedisCache):
    """Django's Redis cache, but an unreachable Redis reads as an empty cache."""

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except UNAVAILABLE as error:
            _away("get", error)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except UNAVAILABLE as error:
            _away("get_many", error)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except UNAVAILABLE as error:
            _away("has_key", error)
            return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except UNAVAILABLE as error:
            _away("add", error)
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except UNAVAILABLE as error:
            _away("set", error)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except UNAVAILABLE as error:
            _away("set_many", error)
            return list(data)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except UNAVAILABLE as error:
            _away("touch", error)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except UNAVAILABLE as error:
            _away("delete", error)
            return False

    def delete_many(self, keys, version=None):
        try:
            super().delete_many(keys, version)
        except UNAVAILABLE as error:
            _away("delete_many", error)

    def incr(self, key, delta=1, version=None):
        """A counter that cannot be read counts this use as its first."""
        try:
            return super().incr(key, delta, version)
        except UNAVAILABLE as error:
            _away("incr", error)
            return delta
