"""Failed-login throttling (per e-mail and per IP, kept in the cache) and the password-hashing budget.

A locked-out e-mail or IP is answered before any password is hashed, and at most
PASSWORD_HASH_CONCURRENCY hashes run at once per process, so a flood of bad logins cannot starve
the other requests of CPU, memory or worker threads.
"""

import hashlib
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

from marketing_ai.errors import RateLimited

LOCKED_MESSAGE = "Too many failed sign-in attempts. Try again later."
BUSY_MESSAGE = "The server is busy verifying other sign-ins. Try again in a moment."

_hash_slots: threading.BoundedSemaphore | None = None
_hash_slots_size = 0
_hash_slots_lock = threading.Lock()


def _key(kind: str, scope: str, value: str) -> str:
    # Hashed so that e-mails and IPs never appear in cache keys (and any length fits memcached/redis).
    return f"login-{kind}:{scope}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def _scopes(*, email: str, ip: str | None) -> list[tuple[str, str, int]]:
    scopes = [("email", email.strip().lower(), settings.LOGIN_FAILURE_LIMIT)]
    if ip:
        scopes.append(("ip", ip, settings.LOGIN_IP_FAILURE_LIMIT))
    return scopes


def login_throttle_check(*, email: str, ip: str | None) -> None:
    """Raise RateLimited (Retry-After = seconds left) while the e-mail or the IP is locked out."""
    locks = cache.get_many([_key("lock", scope, value) for scope, value, _ in _scopes(email=email, ip=ip)])
    if locks:
        seconds_left = math.ceil(max(locks.values()) - time.time())
        raise RateLimited(LOCKED_MESSAGE, retry_after=max(1, seconds_left))


def login_throttle_fail(*, email: str, ip: str | None) -> list[str]:
    """Count one failed attempt; returns the scopes ("email", "ip") it locked out for LOGIN_LOCKOUT_SECONDS."""
    window = settings.LOGIN_LOCKOUT_SECONDS
    locked = []
    for scope, value, limit in _scopes(email=email, ip=ip):
        key = _key("fail", scope, value)
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
        if count >= limit:
            cache.set(_key("lock", scope, value), time.time() + window, timeout=window)
            cache.delete(key)
            locked.append(scope)
    return locked


def login_throttle_clear(*, email: str) -> None:
    """Forget the e-mail's failed attempts after a successful login (the IP's count stays)."""
    cache.delete(_key("fail", "email", email.strip().lower()))


def _slots() -> threading.BoundedSemaphore:
    global _hash_slots, _hash_slots_size
    size = max(1, settings.PASSWORD_HASH_CONCURRENCY)
    with _hash_slots_lock:
        if _hash_slots is None or _hash_slots_size != size:
            _hash_slots, _hash_slots_size = threading.BoundedSemaphore(size), size
        return _hash_slots


@contextmanager
def password_hashing_slot() -> Iterator[None]:
    """Run the block only when a hashing slot is free; otherwise shed the request with RateLimited (retry in 1 s).

    Waiting would park a worker thread per queued login; refusing keeps threads free for other requests.
    """
    slots = _slots()
    if not slots.acquire(timeout=0.05):
        raise RateLimited(BUSY_MESSAGE, retry_after=1)
    try:
        yield
    finally:
        slots.release()
