"""Failed-login throttling (per e-mail and per IP) and the password-hashing budget.

Failures are counted in the cache (in the database while it is down); a lockout itself is a database row, so it
holds through a cache outage and its end. A locked-out e-mail or IP is answered before any password is hashed; at most
PASSWORD_HASH_CONCURRENCY hashes run at once per process, in threads of the lowest CPU priority,
so a flood of bad logins cannot starve the other requests of CPU, memory or worker threads.
"""

import hashlib
import math
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.hashers import check_password, get_hasher, identify_hasher, make_password
from django.utils import timezone

from marketing_ai.caching import counter_incremented, shared_cache
from marketing_ai.errors import RateLimited

from .counters import database_counter_delete, database_flag_set, database_flags_raised

LOCKED_MESSAGE = "Too many failed sign-in attempts. Try again later."
BUSY_MESSAGE = "The server is busy verifying other sign-ins. Try again in a moment."
IN_PROGRESS_MESSAGE = "Another sign-in for this account or from this address is being checked. Try again in a moment."

T = TypeVar("T")
_hash_slots: "_FairSlots | None" = None
_hash_pool: ThreadPoolExecutor | None = None
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
    locks = database_flags_raised([_key("lock", scope, value) for scope, value, _ in _scopes(email=email, ip=ip)])
    if locks:
        seconds_left = math.ceil((max(locks.values()) - timezone.now()).total_seconds())
        raise RateLimited(LOCKED_MESSAGE, retry_after=max(1, seconds_left))


def login_throttle_fail(*, email: str, ip: str | None) -> list[str]:
    """Count one failed attempt; returns the scopes ("email", "ip") it locked out for LOGIN_LOCKOUT_SECONDS."""
    window = settings.LOGIN_LOCKOUT_SECONDS
    locked = []
    for scope, value, limit in _scopes(email=email, ip=ip):
        key = _key("fail", scope, value)
        count = counter_incremented(key, timeout=window)
        if count >= limit:
            database_flag_set(_key("lock", scope, value), seconds=window)
            _counter_forget(key)
            locked.append(scope)
    return locked


def login_throttle_clear(*, email: str) -> None:
    """Forget the e-mail's failed attempts after a successful login (the IP's count stays)."""
    _counter_forget(_key("fail", "email", email.strip().lower()))


def _counter_forget(key: str) -> None:
    shared_cache().delete(key)
    database_counter_delete(key)  # counted there while the cache was down


def _lower_this_threads_priority() -> None:
    # Linux schedules threads individually: nice 19 here gives hashing only the CPU other requests leave idle.
    # (Argon2's own lane threads are spawned from this thread and inherit its priority.)
    if sys.platform.startswith("linux"):
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class _FairSlots:
    """A counting semaphore that hands a freed slot to the longest waiter; threading's lets a newcomer take it
    first, so under a flood a login could lose every round for as long as the flood lasts."""

    def __init__(self, size: int):
        self._free, self._waiters, self._lock = size, deque(), threading.Lock()

    def acquire(self, timeout: float) -> bool:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return True
            granted = threading.Event()
            self._waiters.append(granted)
        if granted.wait(timeout):
            return True
        with self._lock:
            if granted.is_set():  # handed over just as the wait ended
                return True
            self._waiters.remove(granted)
            return False

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._free += 1


_in_flight: dict[str, int] = {}
_in_flight_lock = threading.Lock()


@contextmanager
def login_check_admitted(*, email: str, ip: str | None):
    """Admit one password check per account and LOGIN_IP_HASH_CONCURRENCY per client IP at a time (per process),
    refusing the rest at once (RateLimited, retry in 1 s, not counted as a failure). A flood against one account
    or from one address then holds that many hashing slots at most, and a correct login from elsewhere waits
    for no more than those before its own check."""
    scopes = [("email:" + email.strip().lower(), 1)]
    if ip:
        scopes.append(("ip:" + ip, max(1, settings.LOGIN_IP_HASH_CONCURRENCY)))
    with _in_flight_lock:
        if any(_in_flight.get(key, 0) >= limit for key, limit in scopes):
            raise RateLimited(IN_PROGRESS_MESSAGE, retry_after=1)
        for key, _ in scopes:
            _in_flight[key] = _in_flight.get(key, 0) + 1
    try:
        yield
    finally:
        with _in_flight_lock:
            for key, _ in scopes:
                _in_flight[key] -= 1
                if not _in_flight[key]:
                    del _in_flight[key]


def _hashing_resources() -> tuple[_FairSlots, ThreadPoolExecutor]:
    global _hash_slots, _hash_slots_size, _hash_pool
    size = max(1, settings.PASSWORD_HASH_CONCURRENCY)
    with _hash_slots_lock:
        if _hash_slots is None or _hash_slots_size != size:
            _hash_slots, _hash_slots_size = _FairSlots(size), size
            _hash_pool = ThreadPoolExecutor(
                max_workers=size, thread_name_prefix="password-hash", initializer=_lower_this_threads_priority
            )
        return _hash_slots, _hash_pool


def password_hash_run(function: Callable[..., T], *args) -> T:
    """Run a password hashing function (no database access) in the low-priority hashing pool.

    At most PASSWORD_HASH_CONCURRENCY run at once per process. A login waits briefly for a slot
    (PASSWORD_HASH_WAIT_SECONDS, about two hashes) so that two people signing in together both get in;
    beyond that it is shed with RateLimited (retry in 1 s) rather than parking a worker thread per login.
    """
    slots, pool = _hashing_resources()
    if not slots.acquire(timeout=settings.PASSWORD_HASH_WAIT_SECONDS):
        raise RateLimited(BUSY_MESSAGE, retry_after=1)
    try:
        return pool.submit(function, *args).result()
    finally:
        slots.release()


def password_verify(*, user, raw_password: str) -> bool:
    """Whether the password matches the user's hash (re-hashing it when the hasher settings changed)."""
    valid = password_hash_run(check_password, raw_password, user.password)
    if valid and _must_rehash(user.password):
        user.password = password_hash_run(make_password, raw_password)
        user.save(update_fields=["password"])
    return valid


def password_set(*, user, raw_password: str) -> None:
    """Store a new hash of the password on the (unsaved) user."""
    user.password = password_hash_run(make_password, raw_password)


def password_burn(raw_password: str) -> None:
    """Spend the time of one real check (for unknown e-mails: no account enumeration by timing)."""
    password_hash_run(make_password, raw_password)


def _must_rehash(encoded: str) -> bool:
    preferred = get_hasher("default")
    try:
        current = identify_hasher(encoded)
    except ValueError:
        return False
    return current.algorithm != preferred.algorithm or preferred.must_update(encoded)
