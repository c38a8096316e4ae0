"""Edge checks for /api/ requests that must answer before a view reads the body."""

from django.conf import settings

from .errors import error_json_response, is_api_request


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
