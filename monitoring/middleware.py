"""Every HTTP request: a request id (the caller's X-Request-ID when it is a sane token, else a new one) in the
logs and on the answer, and its latency and status counted by route name (monitoring.metrics)."""

import logging
import re
import time
import uuid

from django.conf import settings

from .logs import request_id_var
from .metrics import http_latency, http_requests
from .tally import http_tally

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # never copy arbitrary text into logs and headers
logger = logging.getLogger("marketing_ai.requests")


def route_name(request) -> str:
    """The resolver's name for the matched route ("campaigns-api:campaign-detail"), never the raw path, so ids
    do not explode the label set; the route pattern when unnamed; "unmatched" for a 404 that matched nothing."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class RequestMonitoringMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.counting = settings.REQUEST_METRICS

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            response[REQUEST_ID_HEADER] = request_id
            if self.counting:
                self.record(request, response.status_code, elapsed)
            return response
        finally:
            request_id_var.reset(token)

    @staticmethod
    def record(request, status: int, elapsed: float) -> None:
        route = route_name(request)
        http_requests.labels(route, request.method, str(status)).inc()
        http_latency.labels(route, request.method).observe(elapsed)
        http_tally.record(error=status >= 500, latency_ms=int(elapsed * 1000))
        if status >= 500:
            logger.error(
                "%s %s answered %s",
                request.method,
                route,
                status,
                extra={"method": request.method, "route": route, "status": status, "durationMs": int(elapsed * 1000)},
            )
