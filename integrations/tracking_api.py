"""Standard intake protocols on top of the one intake (`integrations/intake.py`): thin views, wire shapes only.

- Segment HTTP Tracking API, `POST /v1/{identify,track,page,screen,group,alias,batch}` (also the one-letter paths
  analytics.js uses): the write key of a `segment` source as HTTP Basic user, or `writeKey` in the body; gzip
  bodies; 32 KB per call, 500 KB per batch. Answers 200 `{"success": true}` as Segment does, errors with the
  `code` and `message` the official libraries read.
- Meta Conversions API, `POST /{version}/{pixelId}/events`: `access_token` (a Meta Pixel source's write key) in
  the query, the form or the JSON body; form bodies as the official SDK sends them (`data` = a JSON array of JSON
  strings). Answers `{events_received, messages, fbtrace_id}`, errors in Graph's `{"error": {...}}` shape.
"""

import base64
import binascii
import json
import logging
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from .adapters import segment
from .adapters.meta_pixel import ConversionsApiCall
from .intake import IntakeAnswer, IntakeLimits, intake_response
from .models import DataSource
from .tasks import capi_relay_task

logger = logging.getLogger(__name__)
SEGMENT_SHORT_PATHS = {"i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "a": "alias"}
SEGMENT_CODES = {
    400: "invalid_request",
    401: "invalid_write_key",
    403: "forbidden",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_encoding",
    429: "rate_limited",
}


def _basic_user(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return ""
    try:
        return base64.b64decode(credentials, validate=True).decode("utf-8", "replace").partition(":")[0]
    except (binascii.Error, ValueError):
        return ""


def _segment_shape(answer: IntakeAnswer) -> IntakeAnswer:
    if answer.status == 202:
        body = {"success": True, "accepted": answer.accepted, "rejected": answer.rejected}
        return IntakeAnswer(200, body, answer.headers, answer.accepted, answer.rejected)
    # Segment answers 400 for oversized payloads; the libraries read `code` and `message`.
    status = 400 if answer.status == 413 else answer.status
    code = SEGMENT_CODES.get(answer.status, "server_error")
    body = {**answer.body, "statusCode": status, "success": False, "code": code}
    return IntakeAnswer(status, body, answer.headers)


@csrf_exempt
def segment_call(request: HttpRequest, call: str) -> HttpResponse:
    """AllowAny, no CSRF: the write key identifies the source."""
    call = SEGMENT_SHORT_PATHS.get(call, call)
    adapter = segment.BATCH if call in ("batch", "b") else segment.SINGLE[call]
    limit = settings.SEGMENT_MAX_BATCH_BYTES if adapter is segment.BATCH else settings.SEGMENT_MAX_CALL_BYTES
    limits = IntakeLimits(source_types=(DataSource.SourceType.SEGMENT,), max_body_bytes=limit)
    return intake_response(
        request, write_key=_basic_user(request), adapter=adapter, limits=limits, shape=_segment_shape
    )


GRAPH_ERRORS = {  # our status -> Graph's (type, code) for the same situation
    400: ("OAuthException", 100),
    401: ("OAuthException", 190),
    403: ("OAuthException", 200),
    413: ("OAuthException", 100),
    429: ("OAuthException", 4),
    503: ("OAuthException", 2),
}


def _graph_shape(call: ConversionsApiCall, trace: str):
    def shape(answer: IntakeAnswer) -> IntakeAnswer:
        if answer.status == 202:
            messages = [f"Event {r['index']} was not accepted: {r['reason']}" for r in answer.rejected]
            body = {"events_received": len(call.events) - len(answer.rejected), "messages": messages}
            return IntakeAnswer(200, {**body, "fbtrace_id": trace}, answer.headers, answer.accepted, answer.rejected)
        kind, code = GRAPH_ERRORS.get(answer.status, ("OAuthException", 1))
        error = {"message": answer.body.get("message", ""), "type": kind, "code": code, "fbtrace_id": trace}
        if answer.status in (429, 503):
            error["is_transient"] = True
        return IntakeAnswer(answer.status, {"error": error}, answer.headers)

    return shape


def _capi_body(request: HttpRequest) -> tuple[str, bytes | None]:
    """The access token and, for form posts, the equivalent JSON body (JSON bodies go to the intake as sent)."""
    token = request.GET.get("access_token", "")
    declared = request.META.get("CONTENT_LENGTH") or "0"
    too_big = not declared.isdigit() or int(declared) > settings.COLLECT_MAX_BODY_BYTES
    if request.content_type == "application/x-www-form-urlencoded" and not too_big:  # the intake refuses too_big
        form = request.POST
        token = token or form.get("access_token", "")
        body = {key: form.get(key) for key in ("data", "test_event_code") if form.get(key) is not None}
        return token, json.dumps(body).encode()
    return token, None


@csrf_exempt
def conversions_api_events(request: HttpRequest, version: str, pixel_id: str) -> HttpResponse:
    """AllowAny, no CSRF: `access_token` is the write key of the Meta Pixel source with this pixel id."""
    call, trace = ConversionsApiCall(pixel_id=pixel_id), "A" + secrets.token_urlsafe(15)
    token, body = _capi_body(request) if request.method == "POST" else ("", None)
    response = intake_response(
        request,
        write_key=token,
        adapter=call,
        limits=IntakeLimits(source_types=(DataSource.SourceType.FACEBOOK_PIXEL,)),
        shape=_graph_shape(call, trace),
        body=body,
    )
    if response.status_code == 200 and call.accepted and call.source and call.source.secrets.get("accessToken"):
        try:
            capi_relay_task.delay(call.source.id, call.accepted, call.test_event_code)
        except Exception:  # the events are stored; a relay that cannot even be queued must not fail the call
            logger.exception("capi relay for source %s could not be queued", call.source.id)
    return response
