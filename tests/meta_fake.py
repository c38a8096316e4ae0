"""A local fake of the Meta Graph API endpoints we call, over real HTTP, recording every request.

Served: Custom Audiences (create, `/users`, `/usersreplace`), Conversions API (`/{pixel}/events`), Page access
tokens, Page feed and photos, Instagram media and media_publish. `script` answers the next calls with an error
status ("429", "500", "400") before normal service resumes.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

GRAPH_ERROR = {"400": (400, 100, "Invalid parameter"), "429": (429, 4, "Too many calls"), "500": (500, 2, "Oops")}


class FakeGraph:
    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[str] = []
        self.lock = threading.Lock()
        self.posts = 0

    def handle(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        with self.lock:
            self.requests.append({"method": method, "path": path, "params": params})
            action = self.script.pop(0) if self.script else None
        if action in GRAPH_ERROR:
            status, code, message = GRAPH_ERROR[action]
            return status, {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "F"}}
        parts = path.strip("/").split("/")[1:]  # drop the version
        if parts[-1] == "customaudiences":
            return 200, {"id": "23850000000000001"}
        if parts[-1] in ("users", "usersreplace"):
            payload = json.loads(params["payload"])
            session = json.loads(params["session"]) if "session" in params else {}
            received = len(payload["data"])
            return 200, {
                "audience_id": parts[0],
                "session_id": session.get("session_id"),
                "num_received": received,
                "num_invalid_entries": 0,
                "invalid_entry_samples": {},
            }
        if parts[-1] == "events":
            data = params["data"] if isinstance(params["data"], list) else json.loads(params["data"])
            return 200, {"events_received": len(data), "messages": [], "fbtrace_id": "FAKE"}
        if parts[-1] == "insights":
            day = {"date_start": "2026-11-01", "impressions": "1000", "clicks": "40", "spend": "0"}
            return 200, {"data": [{**day, "actions": [{"action_type": "post_reaction", "value": "25"}]}]}
        if method == "GET" and len(parts) == 1:
            return 200, {"id": parts[0], "access_token": f"page-token-{parts[0]}"}
        with self.lock:
            self.posts += 1
            number = self.posts
        if parts[-1] == "feed":
            return 200, {"id": f"{parts[0]}_{9000 + number}"}
        if parts[-1] == "photos":
            return 200, {"id": f"{7000 + number}", "post_id": f"{parts[0]}_{9000 + number}"}
        if parts[-1] == "media":
            return 200, {"id": f"container-{number}"}
        if parts[-1] == "media_publish":
            return 200, {"id": f"1790{number:04d}"}
        return 404, {"error": {"message": f"Unknown path {path}", "type": "GraphMethodException", "code": 100}}

    def of(self, suffix: str) -> list[dict]:
        return [request for request in self.requests if request["path"].endswith(suffix)]


def _handler(fake: FakeGraph):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            url = urlsplit(self.path)
            params = {key: values[-1] for key, values in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if raw and "json" in (self.headers.get("Content-Type") or ""):
                params.update(json.loads(raw))
            elif raw and b"Content-Disposition" not in raw[:200]:
                params.update({key: values[-1] for key, values in parse_qs(raw.decode()).items()})
            elif raw:
                params["multipart"] = raw
            status, body = fake.handle(self.command, url.path, params)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args):
            pass

    return Handler


def serve_fake_graph():
    """(fake, base URL with `{version}`, stop)"""
    fake = FakeGraph()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        server.server_close()

    return fake, f"http://127.0.0.1:{server.server_address[1]}/{{version}}", stop
