"""Edge checks for /api/ requests that must answer before a view reads the body."""

from django.conf import settings

from .errors import error_json_response, handler400, is_api_request
from .text import storable_text, text_is_storable


class ApiBodyLimitMiddleware:
    """Answer 413 in the API error shape when the declared body exceeds the limit (multipart gets more room)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_request(request):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_json_response(400, "Invalid Content-Length header.")
            is_upload = request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data")
            limit = settings.API_MAX_UPLOAD_BYTES if is_upload else settings.API_MAX_BODY_BYTES
            if length > limit:
                return error_json_response(413, f"Request body is too large (limit {limit} bytes).")
        return self.get_response(request)


class UnstorableQueryMiddleware:
    """400 for a NUL character in the path or the query string, which no database lookup can take (PostgreSQL
    refuses it); API requests get the error shape with the offending parameters."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            bad = sorted(
                {
                    storable_text(key)
                    for key, values in request.GET.lists()
                    if not text_is_storable(key) or not all(text_is_storable(value) for value in values)
                }
            )
            if bad or "\x00" in request.path:
                if not is_api_request(request):
                    return handler400(request)
                message = "NUL characters are not allowed in the address."
                return error_json_response(400, message, {key: [message] for key in bad} or None)
        return self.get_response(request)
