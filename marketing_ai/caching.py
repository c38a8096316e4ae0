"""The default cache as one backend instance per process, and its behaviour while Redis is unreachable.

`django.core.cache.cache` resolves to a backend per asyncio context (asgiref's `Local`): every ASGI request,
websocket and detached chat answer builds its own, and with Redis that means its own client, connection
pool and TCP connection (bench/chat.py: ~1 ms of CPU per answer on the shared database thread, and a
connection left for the garbage collector). The backends are thread-safe, so one instance serves all.

Redis is an accelerator (DESIGN §9): when it fails, reads miss, writes are skipped and counters move to the
database (or allow, for the callers that choose to fail open), each with a logged warning; for
`CACHE_RETRY_SECONDS` after a failure Redis is not asked again, so an outage costs no request a timeout.
"""

import functools
import logging
import threading
import time

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache.backends import redis as django_redis
from django.core.signals import setting_changed
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
CACHE_ERRORS = (RedisError, OSError)
_state = {"down_until": 0.0, "warned_at": 0.0}
_state_lock = threading.Lock()


class _RedisClientOncePerPool(django_redis.RedisCacheClient):
    """Django's client builds a `redis.Redis` object for every operation, which costs more CPU than the round trip
    itself (figures: bench/README.md, "The authenticated API path"); one per connection pool serves every thread
    (redis-py clients are thread-safe)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    """The Redis cache backend (settings.CACHES with REDIS_URL), with its client built once per pool."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _RedisClientOncePerPool

    def counter_incremented(self, key: str, *, timeout: int) -> int:
        """`counter_incremented`'s count in one round trip: created with its expiry unless it exists, then
        incremented (Django's `add` then `incr` take three, `incr` checking the key's existence first)."""
        key = self.make_and_validate_key(key)
        pipeline = self._cache.get_client(key, write=True).pipeline(transaction=False)
        pipeline.set(key, 0, ex=timeout, nx=True)
        pipeline.incr(key)
        return pipeline.execute()[1]


class CacheUnavailable(Exception):
    """The shared cache (Redis) did not answer; the caller falls back."""


def cache_available() -> bool:
    """False for a short while after the cache failed (see the module docstring)."""
    return time.monotonic() >= _state["down_until"]


def cache_failed(exc: BaseException, *, doing: str) -> None:
    """Record a cache failure: skip the cache for CACHE_RETRY_SECONDS, and warn (at most once a minute)."""
    now = time.monotonic()
    with _state_lock:
        _state["down_until"] = now + settings.CACHE_RETRY_SECONDS
        warn = now - _state["warned_at"] >= 60
        if warn:
            _state["warned_at"] = now
    if warn:
        logger.warning("Cache unavailable while %s (%s); falling back until it answers again.", doing, exc)


class ResilientCache:
    """The cache backend's interface, minus its failures: reads miss and writes are skipped while it is down.

    `incr` is the exception: a counter that silently stopped counting would be a lockout bypass, so it raises
    `CacheUnavailable` for the caller to choose its fallback.
    """

    def __init__(self, backend: BaseCache):
        self.backend = backend

    def _call(self, doing: str, default, method: str, *args, **kwargs):
        if not cache_available():
            return default
        try:
            return getattr(self.backend, method)(*args, **kwargs)
        except CACHE_ERRORS as exc:
            cache_failed(exc, doing=doing)
            return default

    def get(self, key, default=None):
        return self._call("reading", default, "get", key, default)

    def get_many(self, keys) -> dict:
        return self._call("reading", {}, "get_many", keys)

    def set(self, key, value, timeout=None) -> None:
        self._call("writing", None, "set", key, value, timeout)

    def set_many(self, data: dict, timeout=None) -> None:
        self._call("writing", None, "set_many", data, timeout)

    def add(self, key, value, timeout=None) -> bool:
        return self._call("writing", False, "add", key, value, timeout)

    def delete(self, key) -> bool:
        return self._call("deleting", False, "delete", key)

    def counted(self, key, *, timeout: int) -> int:
        """A fixed-window counter's new count (see `counter_incremented`); raises `CacheUnavailable` like `incr`."""
        if not cache_available():
            raise CacheUnavailable
        try:
            if isinstance(self.backend, RedisCache):
                return self.backend.counter_incremented(key, timeout=timeout)
            self.backend.add(key, 0, timeout=timeout)
            try:
                return self.backend.incr(key)
            except ValueError:  # the key expired between add and incr
                self.backend.set(key, 1, timeout=timeout)
                return 1
        except CACHE_ERRORS as exc:
            cache_failed(exc, doing="counting")
            raise CacheUnavailable from exc

    def incr(self, key, delta: int = 1) -> int:
        if not cache_available():
            raise CacheUnavailable
        try:
            return self.backend.incr(key, delta)
        except CACHE_ERRORS as exc:
            cache_failed(exc, doing="counting")
            raise CacheUnavailable from exc

    def __getattr__(self, name):
        return getattr(self.backend, name)


@functools.cache
def shared_cache() -> ResilientCache:
    """The process's instance of the default cache backend."""
    return ResilientCache(caches.create_connection(DEFAULT_CACHE_ALIAS))


def counter_incremented(key: str, *, timeout: int, fail_open: bool = False) -> int:
    """Add one to a counter that expires `timeout` seconds after it was created; the new count.

    The fixed-window counters of the rate limits and lockouts: shared by every process through the cache, or
    through the database while the cache is down. `fail_open` callers get 0 (allowed) instead of the database.
    """
    try:
        return shared_cache().counted(key, timeout=timeout)
    except CacheUnavailable:
        pass
    if fail_open:
        return 0
    from accounts.counters import database_counter_incremented  # the accounts app owns the table

    return database_counter_incremented(key, timeout=timeout)


def _forget_on_cache_settings(*, setting: str, **kwargs) -> None:
    if setting == "CACHES":
        shared_cache.cache_clear()
        _state["down_until"] = 0.0


setting_changed.connect(_forget_on_cache_settings)
