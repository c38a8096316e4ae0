"""Where the rows behind Bearer tokens are kept between requests (accounts/session_lookup.py builds and loads them).

Both layers are off while AUTH_SESSION_CACHE_SECONDS is 0 (the default without Redis).

1. The shared cache (Redis): one read per request instead of a query. A change marks the session's entry stale
   (at once and again after commit); a reader that finds the marker loads the row and caches nothing, and
   readers only ever *add* entries, so a row loaded before a change can never overwrite the marker it left.
2. This process's memory, used only while the process is subscribed to the changes announced by every other
   process (Redis pub/sub, one daemon thread per process): a hit costs no round trip at all. A change publishes
   the sessions' ids along with the markers; each listener drops them and bumps a generation counter, and a
   row is kept only if no change was heard since the request started to look for it. While the subscription is
   down the process keeps nothing of its own (and drops what it had), so a missed message cannot leave a
   revoked session alive. Another process hears of a change when Redis delivers the message: milliseconds.
"""

import functools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable

import redis
from django.conf import settings
from django.db import transaction

from marketing_ai.caching import CACHE_ERRORS, cache_failed, shared_cache

logger = logging.getLogger(__name__)

CHANNEL = "auth:sessions-changed"
_STALE = "stale"
_LOCAL_MAX_ROWS = 10_000  # a bound on this process's memory: past it, the rows are dropped and refilled


def session_row(session_id: uuid.UUID, load: Callable[[], list | None]) -> list | None:
    """The session's row from this process's memory, the shared cache, or `load()` (then kept where it is safe)."""
    ttl = settings.AUTH_SESSION_CACHE_SECONDS
    if not ttl:
        return load()
    local = _local_rows()
    values = local.get(session_id)
    if values is not None:
        return values
    generation = local.generation
    cache, key = shared_cache(), _cache_key(session_id)
    cached = cache.get(key)
    if isinstance(cached, list):
        local.keep(session_id, cached, generation=generation, ttl=ttl)
        return cached
    values = load()
    if values is not None and cached != _STALE and cache.add(key, values, timeout=ttl):
        local.keep(session_id, values, generation=generation, ttl=ttl)
    return values


def session_rows_forget(session_ids: Iterable[uuid.UUID]) -> None:
    """Make the kept rows of these sessions stale everywhere, at once and again after commit."""
    ttl = settings.AUTH_SESSION_CACHE_SECONDS
    ids = [str(session_id) for session_id in session_ids]
    if not ttl or not ids:
        return

    def mark() -> None:
        if _local is not None and _local.pid == os.getpid():  # a process that never looked rows up keeps none
            _local.forget(ids)
        shared_cache().set_many(dict.fromkeys(map(_cache_key, ids), _STALE), timeout=ttl)
        if settings.REDIS_URL:
            try:
                _publisher().publish(CHANNEL, ",".join(ids))
            except CACHE_ERRORS as exc:  # the listeners are cut off too, and keep nothing meanwhile
                cache_failed(exc, doing="announcing a session change")

    mark()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(mark)


def _cache_key(session_id) -> str:
    return f"auth:session:{session_id}"


class _LocalRows:
    """This process's rows, kept only while `listening` (no REDIS_URL: never)."""

    def __init__(self):
        self.pid = os.getpid()
        self.rows: dict[str, tuple[float, list]] = {}
        self.generation = 0  # bumped by every change heard and every loss of the subscription
        self.listening = False

    def get(self, session_id) -> list | None:
        found = self.rows.get(str(session_id))
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def keep(self, session_id, values: list, *, generation: int, ttl: int) -> None:
        if not self.listening or generation != self.generation:
            return
        if len(self.rows) >= _LOCAL_MAX_ROWS:
            self.rows = {}
        self.rows[str(session_id)] = (time.monotonic() + ttl, values)

    def forget(self, ids: list[str]) -> None:
        self.generation += 1
        for session_id in ids:
            self.rows.pop(session_id, None)

    def deafened(self) -> None:
        self.listening = False
        self.generation += 1
        self.rows = {}


_local: _LocalRows | None = None
_local_lock = threading.Lock()


def _local_rows() -> _LocalRows:
    """This process's rows; the first call in a process (also after a fork) starts its listener."""
    global _local
    local = _local
    if local is not None and local.pid == os.getpid():
        return local
    with _local_lock:
        if _local is None or _local.pid != os.getpid():
            _local = _LocalRows()
            if settings.REDIS_URL:
                threading.Thread(target=_listen, args=(_local,), name="auth-session-changes", daemon=True).start()
        return _local


def _listen(local: _LocalRows) -> None:
    """Hear every session change announced on CHANNEL, for as long as the process lives; reconnect after a loss."""
    warned = False
    while True:
        try:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, health_check_interval=5)
            with client.pubsub() as pubsub:
                pubsub.subscribe(CHANNEL)
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        # Changes made before now went unheard: a request already under way keeps nothing.
                        local.generation += 1
                        local.listening, warned = True, False
                    elif message["type"] == "message":
                        local.forget(message["data"].decode().split(","))
        except Exception as exc:  # any failure: keep nothing of our own, then reconnect
            local.deafened()
            if not warned:
                logger.warning("Not hearing session changes (%s): sessions are read from the cache meanwhile.", exc)
                warned = True
            time.sleep(1)


@functools.cache
def _publisher() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
