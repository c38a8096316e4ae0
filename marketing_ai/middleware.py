"""Edge checks that must answer before a view reads the request: body limits (also at the ASGI and WSGI edges,
before Django buffers a body) and text no database can hold in the address."""

import io
import json

from django.conf import settings

from .errors import (
    NotFound,
    PermissionDenied,
    error_body,
    error_json_response,
    error_page,
    handler400,
    is_api_request,
)
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


class ApplicationErrorPageMiddleware:
    """Pages answer a service's PermissionDenied with the 403 page and its NotFound with the 404 page, the same
    refusal the API gives in the error shape (DRF's exception handler answers API views before this runs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_api_request(request):
            return None
        if isinstance(exception, PermissionDenied):
            return error_page(request, 403, exception.message)
        if isinstance(exception, NotFound):
            return error_page(request, 404)
        return None


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


def request_body_limit(*, content_type: str) -> int:
    """The largest request body any endpoint takes (multipart uploads, else JSON and event intake): the edges
    refuse more before reading it; the views then apply their own, possibly smaller, limit."""
    if content_type.startswith("multipart/form-data"):
        return settings.API_MAX_UPLOAD_BYTES
    return max(settings.API_MAX_BODY_BYTES, settings.COLLECT_MAX_BODY_BYTES)


def _too_large_body(path: str, limit: int) -> tuple[bytes, str]:
    message = f"Request body is too large (limit {limit} bytes)."
    if path.startswith("/api/"):
        return json.dumps(error_body(413, message)).encode(), "application/json"
    return message.encode(), "text/plain; charset=utf-8"


class RequestBodyLimitASGI:
    """ASGI edge of every HTTP request: a declared body over the limit is answered 413 before it is read, and a
    chunked body (no Content-Length) is read up to the limit and handed on with its length, since Django and DRF
    take a body without Content-Length for an empty one."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        limit = request_body_limit(content_type=headers.get(b"content-type", b"").decode("latin-1"))
        declared = headers.get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > limit:
                await _asgi_drain(receive)
                return await _asgi_too_large(send, scope["path"], limit)
            return await self.app(scope, receive, send)
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                if message.get("more_body"):
                    await _asgi_drain(receive)
                return await _asgi_too_large(send, scope["path"], limit)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        kept = [(key, value) for key, value in scope["headers"] if key != b"transfer-encoding"]
        scope = {**scope, "headers": [*kept, (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


async def _asgi_drain(receive) -> None:
    """Read the rest of the body, so the connection stays usable for the client's next request."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def _asgi_too_large(send, path: str, limit: int) -> None:
    body, content_type = _too_large_body(path, limit)
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestBodyLimitWSGI:
    """WSGI edge: a chunked body (no Content-Length; gunicorn hands it over de-chunked) is read up to the limit
    and passed on with its length, or answered 413; Django reads a body without Content-Length as empty."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("CONTENT_LENGTH") or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.app(environ, start_response)
        limit = request_body_limit(content_type=environ.get("CONTENT_TYPE", ""))
        stream, chunks, size = environ["wsgi.input"], [], 0
        while size <= limit:
            chunk = stream.read(min(64 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            body, content_type = _too_large_body(environ.get("PATH_INFO", ""), limit)
            headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Connection", "close")]
            start_response("413 Request Entity Too Large", headers)
            return [body]
        environ = {**environ, "wsgi.input": io.BytesIO(b"".join(chunks)), "CONTENT_LENGTH": str(size)}
        return self.app(environ, start_response)
