"""The default cache as one backend instance per process.

`django.core.cache.cache` resolves to a backend per asyncio context (asgiref's `Local`): every ASGI request,
websocket and detached chat answer builds its own, and with Redis that means its own client, connection
pool and TCP connection (bench/chat.py: ~1 ms of CPU per answer on the shared database thread, and a
connection left for the garbage collector). The backends are thread-safe, so one instance serves all.
"""

import functools

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.signals import setting_changed


@functools.cache
def shared_cache() -> BaseCache:
    """The process's instance of the default cache backend."""
    return caches.create_connection(DEFAULT_CACHE_ALIAS)


def counter_incremented(key: str, *, timeout: int) -> int:
    """Add one to a counter that expires `timeout` seconds after it was created; the new count.

    The fixed-window counters of the rate limits and lockouts: shared by every process through the cache.
    """
    cache = shared_cache()
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def _forget_on_cache_settings(*, setting: str, **kwargs) -> None:
    if setting == "CACHES":
        shared_cache.cache_clear()


setting_changed.connect(_forget_on_cache_settings)
