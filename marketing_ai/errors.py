"""Application errors and the one API error shape of DESIGN §4.

`{"statusCode": 400, "message": "...", "errors": {"field": ["..."]}}`, `errors` only for validation.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """An error a service raises on purpose; its message is safe to show to the caller."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.errors = errors


class NotFound(ApplicationError):
    status = 404

    def __init__(self, message: str = "Not found.", **kwargs):
        super().__init__(message, **kwargs)


class PermissionDenied(ApplicationError):
    status = 403

    def __init__(self, message: str = "You do not have permission to perform this action.", **kwargs):
        super().__init__(message, **kwargs)


class Conflict(ApplicationError):
    status = 409


class Unauthorized(ApplicationError):
    status = 401

    def __init__(self, message: str = "Authentication credentials were not provided or are invalid.", **kwargs):
        super().__init__(message, **kwargs)


class RateLimited(ApplicationError):
    status = 429

    def __init__(self, message: str = "Too many requests.", *, retry_after: int = 60, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(ApplicationError):
    """One of our own services (the job queue, storage) cannot take the request now; retry after a while."""

    status = 503

    def __init__(self, message: str = "The service is temporarily unavailable.", *, retry_after: int = 30, **kw):
        super().__init__(message, **kw)
        self.retry_after = max(1, int(retry_after))


class ProviderUnavailable(ApplicationError):
    """An external provider failed (timeout, 429, 5xx, refused); callers may retry or fall back."""

    status = 502

    def __init__(
        self, message: str = "An external provider is unavailable.", *, retry_after: float | None = None, **kw
    ):
        super().__init__(message, **kw)
        self.retry_after = retry_after


DEFAULT_MESSAGES = {
    400: "The request is invalid.",
    401: "Authentication credentials were not provided or are invalid.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "The request conflicts with the current state.",
    413: "Request body is too large.",
    415: "Unsupported media type.",
    429: "Too many requests.",
    500: "Internal server error.",
    502: "An external provider is unavailable.",
    503: "The service is temporarily unavailable.",
}


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def error_body(status: int, message: str | None = None, errors: dict | None = None) -> dict:
    body = {"statusCode": status, "message": message or DEFAULT_MESSAGES.get(status, "Error.")}
    if errors:
        body["errors"] = errors
    return body


def error_json_response(status: int, message: str | None = None, errors: dict | None = None, **headers) -> JsonResponse:
    response = JsonResponse(error_body(status, message, errors), status=status)
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


def _flatten_errors(detail) -> dict:
    """DRF/Django validation detail -> {camelCaseField: [messages]}; non-field errors under `nonFieldErrors`."""
    if isinstance(detail, dict):
        flat = {}
        for key, value in detail.items():
            field = "nonFieldErrors" if key in ("non_field_errors", "__all__") else camel_case(str(key))
            if isinstance(value, dict):
                for sub_key, sub_value in _flatten_errors(value).items():
                    flat[f"{field}.{sub_key}"] = sub_value
            elif isinstance(value, list | tuple):
                messages = []
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        for sub_key, sub_value in _flatten_errors(item).items():
                            flat[f"{field}[{index}].{sub_key}"] = sub_value
                    else:
                        messages.append(str(item))
                if messages:
                    flat[field] = messages
            else:
                flat[field] = [str(value)]
        return flat
    if isinstance(detail, list | tuple):
        return {"nonFieldErrors": [str(item) for item in detail]}
    return {"nonFieldErrors": [str(detail)]}


def api_exception_handler(exc, context):
    """DRF EXCEPTION_HANDLER: every API error leaves in the §4 shape, never with internals."""
    headers = {}
    if isinstance(exc, ApplicationError):
        if isinstance(exc, RateLimited | ServiceUnavailable):
            headers["Retry-After"] = str(exc.retry_after)
        errors = _flatten_errors(exc.errors) if exc.errors else None
        return Response(error_body(exc.status, exc.message, errors), status=exc.status, headers=headers)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(error_body(400, "Some fields are invalid.", _flatten_errors(detail)), status=400)
    if isinstance(exc, Http404):
        return Response(error_body(404), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body(403), status=403)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(413), status=413)
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response(error_body(400, "Some fields are invalid.", _flatten_errors(exc.detail)), status=400)
    if isinstance(exc, drf_exceptions.Throttled):
        wait = int(exc.wait or 1) + (0 if exc.wait is None or float(exc.wait).is_integer() else 1)
        return Response(error_body(429), status=429, headers={"Retry-After": str(max(1, wait))})
    if isinstance(exc, drf_exceptions.ParseError):
        return Response(error_body(400, "Malformed request body: " + str(exc.detail)), status=400)
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        message = str(exc.detail) if isinstance(exc.detail, str) else DEFAULT_MESSAGES[401]
        return Response(error_body(401, message), status=401, headers={"WWW-Authenticate": 'Bearer realm="api"'})
    if isinstance(exc, drf_exceptions.APIException):
        status = exc.status_code
        message = str(exc.detail) if isinstance(exc.detail, str) else DEFAULT_MESSAGES.get(status)
        return Response(error_body(status, message), status=status)
    logger.exception("Unhandled API error", exc_info=exc)
    return Response(error_body(500), status=500)


def is_api_request(request) -> bool:
    return request.path.startswith("/api/")


def error_page(request, status: int, reason: str = "") -> HttpResponse:
    """The error page inside the app frame (navigation included), or plain when the frame cannot be drawn.

    Rendered here rather than by Django's error views: they check the CSRF token, reading the body to do so, so a
    malformed multipart post from a signed-in browser failed again inside the error page and became a 500.
    """
    try:
        return render(request, f"{status}.html", {"reason": reason}, status=status)
    except Exception:
        logger.exception("The %s page could not be drawn in the app frame", status)
        return HttpResponse(loader.render_to_string("500_plain.html"), status=status)


def handler404(request, exception=None):
    if is_api_request(request):
        return error_json_response(404)
    return error_page(request, 404)


def handler500(request):
    if is_api_request(request):
        return error_json_response(500)
    return error_page(request, 500)


def handler400(request, exception=None):
    if is_api_request(request):
        if isinstance(exception, RequestDataTooBig):
            return error_json_response(413)
        return error_json_response(400)
    return error_page(request, 400)


def handler403(request, exception=None):
    if is_api_request(request):
        return error_json_response(403)
    return error_page(request, 403)
