"""Local fake servers for the external APIs (bound to 127.0.0.1:0, real HTTP, real client code)."""

import io
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from PIL import Image


@contextmanager
def serve(handler_class):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload):
        self._send(status, json.dumps(payload).encode())


def photo_bytes(colour=(20, 160, 60), size=(800, 600)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


class FreepikHandler(_Handler):
    """GET /resources?term=, GET /resources/{id}/download, GET /files/{id}.jpg; key in x-freepik-api-key."""

    status_override: int | None = None

    def do_GET(self):  # noqa: N802
        self.server.requests.append((self.path, self.headers.get("x-freepik-api-key")))
        if self.status_override:
            return self._json(self.status_override, {"message": "unavailable"})
        if self.headers.get("x-freepik-api-key") != "test-key":
            return self._json(401, {"message": "Invalid API key"})
        path = urlparse(self.path).path
        if path == "/v1/resources":
            return self._json(200, {"data": [{"id": 4242, "title": "Autumn boots on a path"}], "meta": {}})
        if path == "/v1/resources/4242/download":
            host = f"http://{self.headers['Host']}"
            return self._json(200, {"data": {"filename": "boots.jpg", "url": f"{host}/files/4242.jpg"}})
        if path == "/files/4242.jpg":
            return self._send(200, photo_bytes(), "image/jpeg")
        return self._json(404, {"message": "not found"})


class InsightsHandler(_Handler):
    """GET /v21.0/{id}/insights in two pages, like the Marketing API."""

    def do_GET(self):  # noqa: N802
        parsed = urlparse(self.path)
        query = parse_qs(parsed.query)
        self.server.requests.append((parsed.path, query))
        if query.get("access_token") != ["meta-token"] and "after" not in query:
            return self._json(400, {"error": {"message": "Invalid OAuth access token", "code": 190}})
        host = f"http://{self.headers['Host']}"
        if "after" not in query:
            return self._json(
                200,
                {
                    "data": [
                        {
                            "date_start": "2026-11-01",
                            "date_stop": "2026-11-01",
                            "publisher_platform": "facebook",
                            "impressions": "1000",
                            "clicks": "50",
                            "spend": "12.50",
                            "actions": [
                                {"action_type": "post_reaction", "value": "30"},
                                {"action_type": "comment", "value": "5"},
                                {"action_type": "post", "value": "5"},
                                {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "4"},
                            ],
                        },
                    ],
                    "paging": {"cursors": {"after": "abc"}, "next": f"{host}{parsed.path}?after=abc"},
                },
            )
        return self._json(
            200,
            {
                "data": [
                    {
                        "date_start": "2026-11-02",
                        "date_stop": "2026-11-02",
                        "publisher_platform": "instagram",
                        "impressions": "0",
                        "clicks": "0",
                        "spend": "0",
                        "actions": [],
                    },
                ],
                "paging": {"cursors": {"after": "def"}},
            },
        )
