"""A local fake of the OpenAI HTTP API (chat completions with SSE streaming, models), served from a thread.

It speaks the wire format of the real API (chunked `text/event-stream`, `chat.completion.chunk` objects,
the final usage chunk when `stream_options.include_usage` is set, `data: [DONE]`), so the official SDK
runs unchanged against it. Tests queue behaviours: "ok", "500", "429", "401", "slow" (sleeps past the
timeout), "drip" (streams forever, slowly, until the client hangs up), "cut" (two chunks, then the
connection drops), "garbage" (a stream whose data is not JSON), "text:<reply>".
"""

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler

from .fake_providers import FakeProviderServer, ServedFromThread

MODEL = "gpt-4o-mini"


class FakeOpenAI(ServedFromThread):
    def __init__(self):
        self.behaviours: deque[str] = deque()
        self.reply = "Your cart abandoners are the quickest win: 12 people added to cart without buying."
        self.valid_keys = {"sk-test-valid-key-1234", "sk-test-valid-key-5678"}
        self.requests: list[dict] = []
        self.client_hung_up = threading.Event()
        self.sleep_seconds = 3.0
        self.prompt_tokens = 321
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                fake.requests.append({"method": "GET", "path": self.path, "auth": self.headers.get("Authorization")})
                if self.path.rstrip("/").endswith("/models"):
                    if self.headers.get("Authorization", "").removeprefix("Bearer ") not in fake.valid_keys:
                        return self._json(
                            401, {"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key"}}
                        )
                    data = [
                        {"id": name, "object": "model", "created": 1700000000, "owned_by": "openai"}
                        for name in (MODEL, "gpt-4o")
                    ]
                    return self._json(200, {"object": "list", "data": data})
                return self._json(404, {"error": {"message": "Unknown path"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append(
                    {"method": "POST", "path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                )
                behaviour = fake.behaviours.popleft() if fake.behaviours else "ok"
                if behaviour == "500":
                    return self._json(500, {"error": {"message": "The server had an error", "type": "server_error"}})
                if behaviour == "429":
                    self._json(
                        429,
                        {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
                        extra={"Retry-After": "20"},
                    )
                    return
                if behaviour == "401":
                    return self._json(401, {"error": {"message": "Incorrect API key provided: sk-test-****"}})
                if behaviour == "slow":
                    time.sleep(fake.sleep_seconds)
                    try:  # the client gave up long ago
                        self._json(500, {"error": {"message": "too late"}})
                    except OSError:
                        fake.client_hung_up.set()
                    return
                text = behaviour[5:] if behaviour.startswith("text:") else fake.reply
                self._stream(body, text, mode=behaviour)

            def _json(self, status, payload, extra=None):
                FakeProviderServer.send_json(self, status, payload, extra)

            def _chunk(self, obj) -> None:
                data = ("data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n").encode()
                FakeProviderServer.write_chunk(self, data)

            def _stream(self, body, text, *, mode="ok"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                base = {"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 1700000000}
                base |= {"model": body.get("model", MODEL), "system_fingerprint": "fp_fake"}

                def delta(content=None, finish=None, role=None):
                    d = {}
                    if role:
                        d["role"] = role
                    if content is not None:
                        d["content"] = content
                    choice = {"index": 0, "delta": d, "logprobs": None, "finish_reason": finish}
                    return base | {"choices": [choice], "usage": None}

                try:
                    self._chunk(delta(content="", role="assistant"))
                    if mode == "drip":
                        while True:
                            self._chunk(delta(content="more "))
                            time.sleep(0.05)
                    if mode == "cut":
                        self._chunk(delta(content="Half "))
                        self._chunk(delta(content="an answer "))
                        self.close_connection = True
                        return  # no terminating chunk: the body ends early
                    if mode == "garbage":
                        self._chunk("this is not JSON")
                    words = text.split(" ")
                    for index, word in enumerate(words):
                        self._chunk(delta(content=word + (" " if index < len(words) - 1 else "")))
                    self._chunk(delta(finish="stop"))
                    if (body.get("stream_options") or {}).get("include_usage"):
                        usage = {"prompt_tokens": fake.prompt_tokens, "completion_tokens": len(words)}
                        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                        self._chunk(base | {"choices": [], "usage": usage})
                    self._chunk("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    fake.client_hung_up.set()

        self.base_url = self.serve(Handler) + "/v1"


def fake_openai_settings(settings, fake: FakeOpenAI, *, providers=("openai", "local")) -> None:
    """Point the openai provider at the fake and make retries instant."""
    settings.OPENAI_BASE_URL = fake.base_url
    settings.OPENAI_API_KEY = "sk-test-valid-key-1234"
    settings.OPENAI_MODEL = "gpt-4o-mini"
    settings.AI_PROVIDERS = list(providers)
    settings.AI_REQUEST_TIMEOUT_SECONDS = 10.0
    settings.AI_RETRY_BACKOFF_SECONDS = 0
