"""Event intake for push sources: `POST /api/collect/{writeKey}` and the Shopify webhook (DESIGN §4, §5).

Under ASGI, `CollectFastPath` (wrapped around the Django app in marketing_ai/asgi.py) answers collect requests
itself: the mapping and the bulk store run in a small pool of worker threads, and above `COLLECT_MAX_IN_FLIGHT`
concurrent batches per process it answers 429 with Retry-After on the event loop at once instead of queueing
into a timeout. The Django view below does the same work for the test client and any non-ASGI caller.
"""

import asyncio
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from marketing_ai.caching import counter_incremented
from marketing_ai.errors import ApplicationError, error_body, error_json_response

from .adapters import gtm, meta_pixel, segment
from .models import DataSource
from .pipeline.runner import batch_ingest
from .pipeline.schema import Rejection
from .selectors import data_source_by_write_key
from .services import shopify_webhook_receive

logger = logging.getLogger(__name__)
ADAPTERS = {
    DataSource.SourceType.GTM: gtm,
    DataSource.SourceType.FACEBOOK_PIXEL: meta_pixel,
    DataSource.SourceType.SEGMENT: segment.BATCH,
}
_SOURCE_CACHE: dict[str, tuple[float, DataSource | None]] = {}
_in_flight = 0


def _cors_headers(origin: str | None) -> dict[str, str]:
    """Any site may post events with its write key (no cookies are read, so no credentials are allowed)."""
    return {
        "Access-Control-Allow-Origin": origin or "*",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "86400",
        "Vary": "Origin",
    }


def _cors(response, request: HttpRequest):
    for key, value in _cors_headers(request.headers.get("Origin")).items():
        response[key] = value
    return response


def _source_for_key(write_key: str) -> DataSource | None:
    now = time.monotonic()
    hit = _SOURCE_CACHE.get(write_key)
    if hit and hit[0] > now:
        return hit[1]
    source = data_source_by_write_key(write_key=write_key)
    if len(_SOURCE_CACHE) > 10_000:
        _SOURCE_CACHE.clear()
    _SOURCE_CACHE[write_key] = (now + 10, source)
    return source


def _rate_limited(write_key: str) -> int:
    """Fixed-window counter per write key in the shared cache; returns seconds to wait, 0 when allowed."""
    window = settings.COLLECT_RATE_LIMIT_WINDOW_SECONDS
    bucket = int(time.time() // window)
    key = f"collect-rate:{write_key}:{bucket}"
    count = counter_incremented(key, timeout=window + 1)
    if count > settings.COLLECT_RATE_LIMIT_REQUESTS:
        return max(1, int((bucket + 1) * window - time.time()) + 1)
    return 0


class _Oversized:
    """Stands in for an event over the per-event size limit so it is rejected with its index."""


def collect_process(*, write_key: str, body: bytes) -> tuple[int, dict, dict]:
    """Authenticate the key, apply the limits, map and store; returns (status, body, extra headers)."""
    try:
        source = _source_for_key(write_key)
        if source is None:
            return 401, {"statusCode": 401, "message": "Unknown write key."}, {}
        if source.status == DataSource.Status.PAUSED:
            return 403, {"statusCode": 403, "message": "This data source is paused."}, {}
        wait = _rate_limited(write_key)
        if wait:
            return (
                429,
                {"statusCode": 429, "message": "Too many requests for this write key."},
                {"Retry-After": str(wait)},
            )
        if len(body) > settings.COLLECT_MAX_BODY_BYTES:
            limit = settings.COLLECT_MAX_BODY_BYTES
            return 413, {"statusCode": 413, "message": f"Request body is too large (limit {limit} bytes)."}, {}
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
            return 400, {"statusCode": 400, "message": "The body is not valid JSON."}, {}
        adapter = ADAPTERS[source.source_type]
        items = list(adapter.iter_items(payload))
        if len(items) > settings.COLLECT_MAX_EVENTS:
            message = f"Too many events in one request: {len(items)} (limit {settings.COLLECT_MAX_EVENTS})."
            return 413, {"statusCode": 413, "message": message}, {}
        too_big = f"event is larger than {settings.COLLECT_MAX_EVENT_BYTES // 1024} KB."
        for index, item in enumerate(items):
            if len(json.dumps(item, separators=(",", ":"), default=str)) > settings.COLLECT_MAX_EVENT_BYTES:
                items[index] = _Oversized()

        def mapper(item, *, received_at):
            if isinstance(item, _Oversized):
                raise Rejection(too_big)
            return adapter.map_item(item, received_at=received_at)

        result, _inserted = batch_ingest(source=source, items=items, mapper=mapper)
        return 202, {"accepted": result.accepted, "rejected": result.rejected}, {}
    except DatabaseError:
        logger.exception("collect: database error")
        connection.close()  # this worker thread reconnects on its next request
        return 503, {"statusCode": 503, "message": "Storage is unavailable; retry later."}, {"Retry-After": "5"}


@csrf_exempt
async def collect(request: HttpRequest, write_key: str):
    """AllowAny, no CSRF: the write key identifies the source. 202 `{accepted, rejected:[{index, reason}]}`."""
    global _in_flight
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), request)
    if request.method != "POST":
        return _cors(error_json_response(405), request)
    if _in_flight >= settings.COLLECT_MAX_IN_FLIGHT:
        return _cors(error_json_response(429, AT_CAPACITY, Retry_After="1"), request)
    _in_flight += 1
    try:
        body = request.body
        status, payload, headers = await sync_to_async(collect_process, thread_sensitive=False)(
            write_key=write_key, body=body
        )
    finally:
        _in_flight -= 1
    response = JsonResponse(payload, status=status)
    for key, value in headers.items():
        response[key] = value
    return _cors(response, request)


AT_CAPACITY = "The collector is at capacity; retry shortly."
_COLLECT_PATH = re.compile(r"/api/collect/(?P<write_key>[^/]+)")


class CollectFastPath:
    """ASGI middleware: `/api/collect/{key}` without Django's middleware stack (sessions, CSRF, auth, messages
    and static files do not apply to it); every other request goes to the wrapped app unchanged.

    Each sync-only middleware costs a collect request a new thread and several hops between threads, and under
    overload the 429 was only decided after all of them. Here capacity is checked first, on the event loop, and
    admitted batches run on `COLLECT_WORKER_THREADS` threads, each keeping its own database connection.
    """

    def __init__(self, app):
        self.app = app
        self.in_flight = 0
        self.executor = ThreadPoolExecutor(max_workers=settings.COLLECT_WORKER_THREADS, thread_name_prefix="collect")

    async def __call__(self, scope, receive, send):
        match = _COLLECT_PATH.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] not in ("POST", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        cors = _cors_headers(headers.get(b"origin", b"").decode("latin-1"))
        if scope["method"] == "OPTIONS":
            return await _asgi_respond(send, 204, None, cors)
        if self.in_flight >= settings.COLLECT_MAX_IN_FLIGHT:
            await _asgi_drain(receive)
            return await _asgi_respond(send, 429, error_body(429, AT_CAPACITY), {**cors, "Retry-After": "1"})
        self.in_flight += 1
        try:
            body = await _asgi_body(receive, declared=headers.get(b"content-length"))
            if body is _CLIENT_GONE:
                return
            if body is None:
                limit = settings.COLLECT_MAX_BODY_BYTES
                status, payload, extra = 413, error_body(413, f"Request body is too large (limit {limit} bytes)."), {}
            else:
                status, payload, extra = await asyncio.get_running_loop().run_in_executor(
                    self.executor, _collect_process_safely, match["write_key"], body
                )
        finally:
            self.in_flight -= 1
        await _asgi_respond(send, status, payload, {**cors, **extra})


def _collect_process_safely(write_key: str, body: bytes) -> tuple[int, dict, dict]:
    try:
        return collect_process(write_key=write_key, body=body)
    except Exception:
        logger.exception("collect: unexpected error")
        return 500, error_body(500), {}


_CLIENT_GONE = object()


async def _asgi_body(receive, *, declared: bytes | None) -> bytes | object | None:
    """The request body; None (after draining it) when it is over COLLECT_MAX_BODY_BYTES; `_CLIENT_GONE` when the
    client disconnected before sending all of it."""
    limit = settings.COLLECT_MAX_BODY_BYTES
    if declared is not None and declared.isdigit() and int(declared) > limit:
        await _asgi_drain(receive)
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _CLIENT_GONE
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            if message.get("more_body"):
                await _asgi_drain(receive)
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _asgi_drain(receive) -> None:
    """Read the rest of the body, so the connection stays usable for the client's next request."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def _asgi_respond(send, status: int, payload: dict | None, headers: dict[str, str]) -> None:
    body = b"" if payload is None else json.dumps(payload).encode()
    raw_headers = [(b"x-content-type-options", b"nosniff")]
    if payload is not None:
        raw_headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(key.lower().encode(), value.encode("latin-1")) for key, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


@csrf_exempt
def shopify_webhook(request: HttpRequest, source_id: int):
    """Verify the HMAC on the raw body, record the delivery, queue the work and answer 200 at once."""
    if request.method != "POST":
        return error_json_response(405)
    try:
        queued = shopify_webhook_receive(source_id=source_id, raw_body=request.body, headers=request.headers)
    except ApplicationError as exc:
        return error_json_response(exc.status, exc.message)
    return JsonResponse({"received": True, "duplicate": not queued})
