"""Probes, metrics and the staff monitoring page. Thin: each calls one function of this app."""

import hmac

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from marketing_ai.errors import error_json_response

from .dashboard import monitoring_context
from .metrics import metrics_text
from .probes import is_ready, readiness


@never_cache
def healthz(request):
    """The process is up and serving (no dependency checked: a liveness probe must not restart on a DB blip)."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    checks = readiness()
    ready = is_ready(checks)
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _metrics_allowed(request) -> bool:
    """A scraper's `Authorization: Bearer <METRICS_TOKEN>`, or a signed-in staff member."""
    header = request.headers.get("Authorization", "")
    token = settings.METRICS_TOKEN
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    return bool(request.user.is_authenticated and request.user.is_staff)


@never_cache
def metrics(request):
    if not _metrics_allowed(request):
        return error_json_response(401, "Send the metrics token (Authorization: Bearer) or sign in as staff.")
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


@staff_member_required
def monitoring_page(request):
    hours = 6 if request.GET.get("hours") not in {"1", "24"} else int(request.GET["hours"])
    return render(request, "monitoring/monitoring.html", monitoring_context(hours=hours))
