"""Event intake for push sources: `POST /api/collect/{writeKey}` and the Shopify webhook (DESIGN §4, §5).

The collect view is async so a slow batch never holds the event loop: the mapping and the bulk store run
in a worker thread, and above `COLLECT_MAX_IN_FLIGHT` concurrent batches per process it answers 429 with
Retry-After at once instead of queueing into a timeout.
"""

import json
import logging
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from marketing_ai.errors import ApplicationError, error_json_response

from .adapters import gtm, meta_pixel
from .models import DataSource
from .pipeline.runner import batch_ingest
from .pipeline.schema import Rejection
from .selectors import data_source_by_write_key
from .services import shopify_webhook_receive

logger = logging.getLogger(__name__)
ADAPTERS = {DataSource.SourceType.GTM: gtm, DataSource.SourceType.FACEBOOK_PIXEL: meta_pixel}
_SOURCE_CACHE: dict[str, tuple[float, DataSource | None]] = {}
_in_flight = 0


def _cors(response, request: HttpRequest):
    """Any site may post events with its write key (no cookies are read, so no credentials are allowed)."""
    response["Access-Control-Allow-Origin"] = request.headers.get("Origin") or "*"
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    response["Vary"] = "Origin"
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
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window + 1)
        count = 1
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
        return _cors(error_json_response(429, "The collector is at capacity; retry shortly.", Retry_After="1"), request)
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
