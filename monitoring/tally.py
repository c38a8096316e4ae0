"""Per-minute totals shared by every process through the cache (Redis when REDIS_URL is set): what the sampling
task turns into MetricSample rows. Best effort by design: with the cache down a minute's counts are lost, never
a request slowed or failed, and nothing is written to the database on the request path."""

import threading
import time

from marketing_ai.caching import CacheUnavailable, cache_available, shared_cache

KEY_TTL_SECONDS = 3600
FLUSH_SECONDS = 5.0  # a process adds its HTTP counts to the shared ones at most this often
HTTP_FIELDS = ("http_requests", "http_errors", "http_latency_ms")


def minute_of(timestamp: float) -> int:
    return int(timestamp // 60)


def tally_key(minute: int, field: str) -> str:
    return f"monitoring:tally:{minute}:{field}"


def tally_add(*, minute: int, field: str, amount: int) -> None:
    """Add to the shared total of `field` for `minute`; dropped silently while the cache is down."""
    if not amount or not cache_available():
        return
    cache, key = shared_cache(), tally_key(minute, field)
    try:
        cache.add(key, 0, timeout=KEY_TTL_SECONDS)
        cache.incr(key, amount)
    except (CacheUnavailable, ValueError):  # down, or the key expired between add and incr
        pass


def tally_read(*, minute: int, fields: tuple[str, ...]) -> dict[str, int]:
    cache = shared_cache()
    return {field: int(cache.get(tally_key(minute, field)) or 0) for field in fields}


class HttpTally:
    """This process's HTTP counts, added to the shared minute totals every FLUSH_SECONDS or when the minute
    turns (the caller's request pays for one flush now and then: three cache increments)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.minute, self.flushed_at = minute_of(time.time()), time.monotonic()
        self.counts = dict.fromkeys(HTTP_FIELDS, 0)

    def record(self, *, error: bool, latency_ms: int) -> None:
        now = time.time()
        with self.lock:
            minute = minute_of(now)
            pending = None
            if minute != self.minute or time.monotonic() - self.flushed_at >= FLUSH_SECONDS:
                pending = (self.minute, self.counts)
                self.minute, self.flushed_at = minute, time.monotonic()
                self.counts = dict.fromkeys(HTTP_FIELDS, 0)
            self.counts["http_requests"] += 1
            self.counts["http_errors"] += int(error)
            self.counts["http_latency_ms"] += latency_ms
        if pending:
            self.flush(*pending)

    def flush(self, minute: int | None = None, counts: dict | None = None) -> None:
        if counts is None:
            with self.lock:
                minute, counts = self.minute, self.counts
                self.counts, self.flushed_at = dict.fromkeys(HTTP_FIELDS, 0), time.monotonic()
        for field, amount in counts.items():
            tally_add(minute=minute, field=field, amount=amount)


http_tally = HttpTally()
