"""Push endpoints: `POST /api/collect/{writeKey}` and the Shopify webhook (DESIGN §4, §5). Thin: the intake
(`integrations/intake.py`) and the webhook service do the work."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from marketing_ai.errors import ApplicationError, error_json_response

from .intake import intake_response
from .services import shopify_webhook_receive


@csrf_exempt
def collect(request: HttpRequest, write_key: str) -> HttpResponse:
    """AllowAny, no CSRF: the write key identifies the source. 202 `{accepted, rejected:[{index, reason}]}`."""
    return intake_response(request, write_key=write_key)


@csrf_exempt
def shopify_webhook(request: HttpRequest, source_id: int) -> HttpResponse:
    """Verify the HMAC on the raw body, record the delivery, queue the work and answer 200 at once."""
    if request.method != "POST":
        return error_json_response(405)
    try:
        queued = shopify_webhook_receive(source_id=source_id, raw_body=request.body, headers=request.headers)
    except ApplicationError as exc:
        return error_json_response(exc.status, exc.message)
    return JsonResponse({"received": True, "duplicate": not queued})
