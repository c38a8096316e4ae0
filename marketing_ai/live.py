"""Real time (DESIGN §10): committed changes announced to the workspace's open pages over the channel layer.

`live_publish` is the one way in. Services call it inside or outside their transaction: the message leaves
only after commit, and publishing only puts it in a dict, so it never fails or slows the write that caused
it (Redis down included). A daemon thread with its own event loop sends what is pending, coalesced: per
(group, type, key) at most one message every `LIVE_MIN_INTERVAL_SECONDS` (the newest payload wins; stored-
event counts add up), gated across processes by an add-once cache key per interval slot, so a workspace
receives a few messages per second however many events arrive and however many processes ingest them.

Groups are named from ids: `workspace-<id>` (every member's pages) and `user-<id>` (one person's bell).
With the in-memory channel layer (embedded default), messages are sent on the event loop of this process's
live sockets, where that layer's queues live.
"""

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SynchronousOnlyOperation
from django.db import transaction

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 2.0
# Types whose payload counts add up when coalesced (the rest keep the newest payload).
ADDITIVE = {"events.stored": ("count", "rejected")}


def workspace_group(workspace_id: int) -> str:
    return f"workspace-{int(workspace_id)}"


def user_group(user_id: int) -> str:
    return f"user-{int(user_id)}"


def live_publish(
    *, kind: str, workspace_id: int | None = None, user_id: int | None = None, key: str = "", data: dict | None = None
) -> None:
    """Announce a change to the workspace's (or one user's) open pages once the current transaction commits.

    Never raises and never waits on the network; `key` separates streams of one type that must not replace
    each other (one job's progress from another's)."""
    if (workspace_id is None and user_id is None) or not getattr(settings, "LIVE_UPDATES", True):
        return
    group = user_group(user_id) if user_id is not None else workspace_group(workspace_id)
    message = {"type": kind, "data": dict(data or {})}
    try:
        transaction.on_commit(lambda: _PUBLISHER.put(group, kind, str(key), message))
    except SynchronousOnlyOperation:  # async code has no transaction open here: nothing to wait for
        _PUBLISHER.put(group, kind, str(key), message)
    except Exception:  # a publication must never break the write it announces
        logger.warning("Live message %s could not be queued", kind, exc_info=True)


def live_loop_register(loop: asyncio.AbstractEventLoop) -> None:
    """Called by live sockets: the in-memory layer's messages are sent on their loop."""
    _PUBLISHER.consumer_loop = loop


def live_flush(timeout: float = 5.0) -> bool:
    """Wait until every pending message has been sent (tests and benchmarks); True when nothing is left."""
    return _PUBLISHER.flush(timeout)


@dataclass
class _Pending:
    group: str
    kind: str
    message: dict
    committed_at: float = field(default_factory=time.time)  # the oldest commit it announces (wall clock)


class _Publisher:
    """Pending messages by (group, type, key) and the thread that sends them, at most once per interval each."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending: dict[tuple, _Pending] = {}
        self.last_sent: dict[tuple, float] = {}
        self.wakeup = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self.thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.consumer_loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0
        self._last_warning = 0.0

    @property
    def interval(self) -> float:
        return float(getattr(settings, "LIVE_MIN_INTERVAL_SECONDS", 0.5))

    def put(self, group: str, kind: str, key: str, message: dict) -> None:
        slot = (group, kind, key)
        with self.lock:
            waiting = self.pending.get(slot)
            if waiting is not None and kind in ADDITIVE:
                for name in ADDITIVE[kind]:
                    message["data"][name] = message["data"].get(name, 0) + waiting.message["data"].get(name, 0)
            self.pending[slot] = _Pending(group, kind, message, waiting.committed_at if waiting else time.time())
            self.idle.clear()
            self._ensure_thread()
        self.wakeup.set()

    def flush(self, timeout: float) -> bool:
        self.wakeup.set()
        return self.idle.wait(timeout)

    def _ensure_thread(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._run, name="live-publisher", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            while True:
                with self.lock:
                    waiting = bool(self.pending)
                self.wakeup.wait(timeout=self.interval / 5 if waiting else None)
                self.wakeup.clear()
                for item in self._due():
                    self._send(item)
                with self.lock:
                    if not self.pending:
                        self.idle.set()
                time.sleep(0.02)  # however fast events arrive, a few dozen checks per second at most
        except Exception:
            logger.exception("The live publisher stopped")
            with self.lock:
                self.pending.clear()
                self.idle.set()

    def _due(self) -> list[_Pending]:
        """Pending messages whose stream may send now (interval passed here and, across processes, in the cache).
        The cache is asked outside the lock: a slow or dead Redis never holds up `put`, which writers call."""
        now, interval = time.monotonic(), self.interval
        with self.lock:
            ready = [slot for slot in self.pending if now - self.last_sent.get(slot, 0.0) >= interval]
            for slot in ready:
                self.last_sent[slot] = now  # when another process won the slot, try again next interval
            if len(self.last_sent) > 10_000:  # forget streams quiet for a while
                self.last_sent = {s: t for s, t in self.last_sent.items() if now - t < 60}
        won = [slot for slot in ready if self._gate(slot, interval)]
        with self.lock:
            return [self.pending.pop(slot) for slot in won if slot in self.pending]

    @staticmethod
    def _gate(slot: tuple, interval: float) -> bool:
        """One process per stream and interval slot sends (an add-once key); without a cache, this process."""
        if interval <= 0:
            return True
        window = int(time.time() / interval)
        try:
            return bool(cache.add("live:" + ":".join(slot) + f":{window}", 1, timeout=max(1, round(interval * 2))))
        except Exception:
            return True

    def _send(self, item: _Pending) -> None:
        item.message["data"].update(committedAt=round(item.committed_at, 4), sentAt=round(time.time(), 4))
        try:
            layer = get_channel_layer()
            if layer is None:
                return
            coroutine = layer.group_send(item.group, {"type": "live.message", "message": item.message})
            loop = self.consumer_loop if isinstance(layer, InMemoryChannelLayer) else None
            if loop is not None and loop.is_running():
                asyncio.run_coroutine_threadsafe(coroutine, loop).result(SEND_TIMEOUT_SECONDS)
            elif loop is not None or isinstance(layer, InMemoryChannelLayer):
                coroutine.close()  # no live socket in this process: nobody to tell
                return
            else:
                self.loop.run_until_complete(asyncio.wait_for(coroutine, SEND_TIMEOUT_SECONDS))
            self.sent += 1
        except Exception:
            now = time.monotonic()
            if now - self._last_warning > 30:  # a dead Redis would otherwise log every message
                self._last_warning = now
                logger.warning("Live message %s to %s was not delivered", item.kind, item.group, exc_info=True)


_PUBLISHER = _Publisher()
