"""SDK clients kept per event loop and endpoint, so that an answer skips building a client and a TCP/TLS handshake.

Clients are bound to the loop that created them (their connections are), hence a set per loop; the least
recently used idle endpoint is dropped when a loop holds too many (keys rotate). Synchronous callers
(`async_to_sync`) run each call in a loop that ends with it: within `clients_per_call()` a call gets a client of
its own, closed after the call.
"""

import asyncio
import contextlib
import contextvars
import functools
import ssl
import weakref
from collections.abc import Awaitable, Callable, Hashable

ENDPOINTS_PER_LOOP = 32
_shared_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()
_clients_per_call: contextvars.ContextVar[bool] = contextvars.ContextVar("clients_per_call", default=False)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process: building it loads the whole CA bundle, blocking the event loop, which each
    SDK would otherwise repeat for every client, i.e. for every chat answer."""
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


@contextlib.contextmanager
def clients_per_call():
    """Within this block, provider calls use a client of their own, closed after the call."""
    token = _clients_per_call.set(True)
    try:
        yield
    finally:
        _clients_per_call.reset(token)


@contextlib.asynccontextmanager
async def client_lease(*, key: Hashable, build: Callable[[], object], close: Callable[[object], Awaitable[None]]):
    """The client for one provider call: the running loop's kept client for `key` (built by `build` when there
    is none yet, or when it was closed), closed with `close` when dropped."""
    if _clients_per_call.get():
        client = build()
        try:
            yield client
        finally:
            await close(client)
        return
    loop = asyncio.get_running_loop()
    endpoints = _shared_clients.setdefault(loop, {})
    entry = endpoints.pop(key, None)
    if entry is None or getattr(entry[0], "is_closed", lambda: False)():
        entry = [build(), 0, close]
    endpoints[key] = entry  # most recently used last
    for old_key in list(endpoints)[: max(0, len(endpoints) - ENDPOINTS_PER_LOOP)]:
        if endpoints[old_key][1] == 0:
            old = endpoints.pop(old_key)
            loop.create_task(old[2](old[0]))
    entry[1] += 1
    try:
        yield entry[0]
    finally:
        entry[1] -= 1


async def kept_clients_close() -> None:
    """Close the running loop's kept clients (a loop that is about to end: tests, shutdown)."""
    endpoints = _shared_clients.pop(asyncio.get_running_loop(), {})
    for client, _active, close in endpoints.values():
        await close(client)
