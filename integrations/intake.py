"""Event intake: the one path from a posted body to stored events, for every push endpoint (DESIGN §4, §5).

`POST /api/collect/{writeKey}` is a thin view over `intake_response`; any other push endpoint (another wire
format, another way to present the write key) calls the same function with its own `adapter` and, if its
callers expect another answer, its own `shape`. The limits, the overload answers (429 + Retry-After for a
key over its rate, a process at capacity or a request that waited too long in the queue; 503 + Retry-After
when storage fails) and the in-flight count live here, once.

An adapter is any object with `iter_items(payload) -> Iterable` (the events a body carries) and
`map_item(item, *, received_at) -> list[EventRecord]` (raising `Rejection` for a bad event), like the
modules in `integrations/adapters/`. It may also have `write_key_in(payload) -> str` (the key, for calls that
carry it in the body) and `source_error(source) -> str | None` (why this source cannot take the call: 403).
"""

import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from marketing_ai.caching import counter_incremented
from marketing_ai.errors import error_body

from .adapters import gtm, meta_pixel, segment
from .models import DataSource
from .pipeline.runner import batch_ingest
from .pipeline.schema import EventRecord, Rejection
from .selectors import data_source_by_write_key

logger = logging.getLogger(__name__)

AT_CAPACITY = "The collector is at capacity; retry shortly."
SOURCE_CACHE_SECONDS = 10


class IntakeAdapter(Protocol):
    def iter_items(self, payload) -> Iterable: ...

    def map_item(self, item, *, received_at: datetime) -> list[EventRecord]: ...


ADAPTERS: dict[str, IntakeAdapter] = {
    DataSource.SourceType.GTM: gtm,
    DataSource.SourceType.FACEBOOK_PIXEL: meta_pixel,
    DataSource.SourceType.SEGMENT: segment.BATCH,
}


@dataclass(frozen=True)
class IntakeAnswer:
    """What an intake request gets: the status, the JSON body and any extra headers (Retry-After)."""

    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)


def _error(status: int, message: str, **headers: str) -> IntakeAnswer:
    return IntakeAnswer(status, error_body(status, message), headers)


# The source behind a write key, cached per process: looked up on every batch, changed almost never.
_sources: dict[str, tuple[float, DataSource | None]] = {}


def _source_for_key(write_key: str) -> DataSource | None:
    now = time.monotonic()
    hit = _sources.get(write_key)
    if hit and hit[0] > now:
        return hit[1]
    source = data_source_by_write_key(write_key=write_key)
    if len(_sources) > 10_000:
        _sources.clear()
    _sources[write_key] = (now + SOURCE_CACHE_SECONDS, source)
    return source


def _rate_wait(write_key: str) -> int:
    """Fixed-window counter per write key in the shared cache; seconds to wait, 0 when allowed."""
    window = settings.COLLECT_RATE_LIMIT_WINDOW_SECONDS
    bucket = int(time.time() // window)
    # Redis down: keep taking events (logged), the in-flight cap still bounds the load
    count = counter_incremented(f"collect-rate:{write_key}:{bucket}", timeout=window + 1, fail_open=True)
    if count > settings.COLLECT_RATE_LIMIT_REQUESTS:
        return max(1, int((bucket + 1) * window - time.time()) + 1)
    return 0


_in_flight = 0
_in_flight_lock = threading.Lock()


@contextmanager
def intake_admitted() -> Iterator[bool]:
    """Whether this process may take one more batch now (at most `COLLECT_MAX_IN_FLIGHT` at once).

    A threaded server (gunicorn's gthread workers, the ASGI server's thread pool) could otherwise queue
    batches until they time out; refused ones are answered 429 at once.
    """
    global _in_flight
    with _in_flight_lock:
        admitted = _in_flight < settings.COLLECT_MAX_IN_FLIGHT
        if admitted:
            _in_flight += 1
    try:
        yield admitted
    finally:
        if admitted:
            with _in_flight_lock:
                _in_flight -= 1


class _Oversized:
    """Stands in for an event over the per-event size limit so it is rejected with its index."""


def _items_sized(items: list) -> list:
    limit = settings.COLLECT_MAX_EVENT_BYTES
    return [
        _Oversized() if len(json.dumps(item, separators=(",", ":"), default=str)) > limit else item for item in items
    ]


@dataclass(frozen=True)
class IntakeLimits:
    """What one endpoint accepts: the source types its write keys may belong to and its largest (decoded) body."""

    source_types: tuple[str, ...] = DataSource.PUSH_TYPES
    max_body_bytes: int | None = None  # None: COLLECT_MAX_BODY_BYTES

    @property
    def body_bytes(self) -> int:
        return self.max_body_bytes or settings.COLLECT_MAX_BODY_BYTES


def _too_large(limits: IntakeLimits) -> IntakeAnswer:
    return _error(413, f"Request body is too large (limit {limits.body_bytes} bytes).")


def intake_process(
    *, write_key: str, body: bytes, adapter: IntakeAdapter | None = None, limits: IntakeLimits = IntakeLimits()
) -> IntakeAnswer:
    """Authenticate the key, apply the limits, map and store one batch (a decoded body); never raises for bad input.

    The source must be of one of `limits.source_types` (another key is as unknown as a wrong one); `adapter`
    defaults to the one of its type. Rejected events are listed with their index and reason while the rest
    are stored (idempotently).
    """
    try:
        payload = _NOT_READ
        if not write_key and hasattr(adapter, "write_key_in"):  # a protocol that carries the key in the body
            if len(body) > limits.body_bytes:
                return _too_large(limits)
            payload = _parsed(body)
            if payload is _NOT_JSON:
                return _error(400, "The body is not valid JSON.")
            write_key = adapter.write_key_in(payload)
        source = _source_for_key(write_key) if write_key else None
        if source is None or source.source_type not in limits.source_types:
            return _error(401, "Unknown write key." if write_key else "The write key is missing.")
        if source.status == DataSource.Status.PAUSED:
            return _error(403, "This data source is paused.")
        refusal = adapter.source_error(source) if hasattr(adapter, "source_error") else None
        if refusal:
            return _error(403, refusal)
        wait = _rate_wait(write_key)
        if wait:
            return _error(429, "Too many requests for this write key.", **{"Retry-After": str(wait)})
        if len(body) > limits.body_bytes:
            return _too_large(limits)
        payload = _parsed(body) if payload is _NOT_READ else payload
        if payload is _NOT_JSON:
            return _error(400, "The body is not valid JSON.")
        adapter = adapter or ADAPTERS[source.source_type]
        items = list(adapter.iter_items(payload))
        if len(items) > settings.COLLECT_MAX_EVENTS:
            return _error(413, f"Too many events in one request: {len(items)} (limit {settings.COLLECT_MAX_EVENTS}).")
        result, _inserted = batch_ingest(source=source, items=_items_sized(items), mapper=_mapper(adapter))
    except DatabaseError:
        logger.exception("intake: database error")
        connection.close()  # the next request reconnects
        return _error(503, "Storage is unavailable; retry later.", **{"Retry-After": "5"})
    body = {"accepted": result.accepted, "rejected": result.rejected}
    return IntakeAnswer(202, body, accepted=result.accepted, rejected=result.rejected)


_NOT_READ, _NOT_JSON = object(), object()


def _parsed(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        return _NOT_JSON


def _mapper(adapter: IntakeAdapter) -> Callable[..., list[EventRecord]]:
    too_big = f"event is larger than {settings.COLLECT_MAX_EVENT_BYTES // 1024} KB."

    def mapper(item, *, received_at):
        if isinstance(item, _Oversized):
            raise Rejection(too_big)
        return adapter.map_item(item, received_at=received_at)

    return mapper


def cors_headers(origin: str | None) -> dict[str, str]:
    """Any site may post events with its write key (no cookies are read, so no credentials are allowed)."""
    return {
        "Access-Control-Allow-Origin": origin or "*",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Authorization",
        "Access-Control-Max-Age": "86400",
        "Vary": "Origin",
    }


def _queued_ms(request: HttpRequest) -> float:
    """How long the request waited between the proxy and this process: nginx and Caddy stamp `X-Request-Start`
    (`t=<seconds.millis>` or `t=<millis>`) when the README's snippets are used; 0 without the header."""
    stamp = request.headers.get("X-Request-Start", "").removeprefix("t=")
    try:
        started = float(stamp)
    except ValueError:
        return 0.0
    if started > 1e11:  # milliseconds
        started /= 1000
    return max(0.0, (time.time() - started) * 1000)


def intake_response(
    request: HttpRequest,
    *,
    write_key: str,
    adapter: IntakeAdapter | None = None,
    limits: IntakeLimits = IntakeLimits(),
    shape: Callable[[IntakeAnswer], IntakeAnswer] | None = None,
    body: bytes | None = None,
) -> HttpResponse:
    """The whole HTTP answer of a push endpoint: CORS preflight, method, capacity, body decoding, limits, storing.

    `shape` rewrites every POST answer (stored or refused) for endpoints whose callers expect another body or
    status; CORS headers are added after it. `body` stands in for the request's own (a form post the endpoint
    turned into JSON).
    """
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
    else:
        answer = _answer(request, write_key=write_key, adapter=adapter, limits=limits, body=body)
        response = _json(answer, shape)
    for key, value in cors_headers(request.headers.get("Origin")).items():
        response[key] = value
    return response


def _answer(
    request: HttpRequest, *, write_key: str, adapter: IntakeAdapter | None, limits: IntakeLimits, body: bytes | None
):
    if request.method != "POST":
        return _error(405, "Method not allowed.")
    if _queued_ms(request) > settings.COLLECT_MAX_QUEUE_MS:
        # A sync worker only sees a request once an earlier one is done: a long wait in the queue means the
        # collector is behind, and answering at once (without reading the body) drains the queue fastest.
        return _error(429, AT_CAPACITY, **{"Retry-After": "1"})
    with intake_admitted() as admitted:
        if not admitted:
            return _error(429, AT_CAPACITY, **{"Retry-After": "1"})
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _error(400, "Invalid Content-Length header.")
        if declared > limits.body_bytes:  # refused before the body is read
            return _too_large(limits)
        if body is None:
            body = _decoded(request.body, request.headers.get("Content-Encoding", ""), limit=limits.body_bytes)
        if isinstance(body, IntakeAnswer):
            return body
        return intake_process(write_key=write_key, body=body, adapter=adapter, limits=limits)


def _decoded(body: bytes, encoding: str, *, limit: int) -> bytes | IntakeAnswer:
    """The body as sent, or inflated from gzip/deflate without ever holding more than `limit` + 1 bytes of it."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        return _error(415, f"Unsupported Content-Encoding {encoding!r} (gzip or deflate).")
    inflater = zlib.decompressobj(wbits=47)  # 32 + 15: a gzip or zlib header, detected
    try:
        decoded = inflater.decompress(body, limit + 1)
    except zlib.error:
        return _error(400, f"The body is not valid {encoding} data.")
    if len(decoded) > limit:
        return _error(413, f"Request body is too large once decompressed (limit {limit} bytes).")
    if not inflater.eof:
        return _error(400, f"The {encoding} body is truncated.")
    return decoded


def _json(answer: IntakeAnswer, shape: Callable[[IntakeAnswer], IntakeAnswer] | None = None) -> JsonResponse:
    if shape is not None:
        answer = shape(answer)
    response = JsonResponse(answer.body, status=answer.status)
    for key, value in answer.headers.items():
        response[key] = value
    return response
