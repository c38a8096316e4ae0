"""Local fakes of the Gemini and Anthropic HTTP APIs, served from a thread, speaking their real wire formats so that
the official SDKs run unchanged against them (fake_openai.py does the same for OpenAI-compatible endpoints).

- Gemini: `POST /{version}/models/{model}:streamGenerateContent?alt=sse` answered with `data: {candidates...}`
  events separated by CRLF CRLF, `finishReason` and `usageMetadata` on the last; `GET /{version}/models`; errors
  as Google's `{"error": {code, message, status, details}}` (a bad key: 400 INVALID_ARGUMENT, API_KEY_INVALID).
- Anthropic: `POST /v1/messages` answered with `message_start`, `content_block_start`, `ping`,
  `content_block_delta` text deltas, `content_block_stop`, `message_delta` (stop reason, output usage),
  `message_stop`; `GET /v1/models`; errors as `{"type": "error", "error": {type, message}}`.

Tests queue behaviours: "ok", "500", "503", "429" (with `Retry-After: fake.retry_after` when that is set), "401",
"slow" (sleeps past the timeout), "cut" (two chunks, then the connection drops), "error" (two chunks, then the
provider's own in-stream error event), "drip" (streams slowly until the client hangs up), "text:<reply>",
"replay:<path>" (serve that file's bytes as the stream, e.g. a documented fixture).
"""

import contextlib
import json
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@contextlib.contextmanager
def running(fake: "ServedFromThread"):
    """The fake, started, and stopped when the block ends."""
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


class ServedFromThread:
    """A fake's HTTP/1.1 server on a free local port, served from a daemon thread; the requests it saw."""

    requests: list[dict]

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> str:
        """Bind the server for `handler` (started by `start`); its address."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def completions(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]


class FakeProviderServer(ServedFromThread):
    """The plumbing both fakes share: a threaded HTTP/1.1 server, queued behaviours and the requests it saw."""

    valid_keys = {"fake-valid-key-1234", "fake-valid-key-5678"}
    reply = "Your cart abandoners are the quickest win: 12 people added to cart without buying."

    def __init__(self):
        self.behaviours: deque[str] = deque()
        self.requests: list[dict] = []
        self.client_hung_up = threading.Event()
        self.sleep_seconds = 3.0
        self.retry_after: str | None = None
        self.prompt_tokens = 321
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.requests.append(
                    {"method": "GET", "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
                )
                if not fake.authorized(self.headers):
                    return fake.refuse_key(self)
                return fake.models(self)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw or b"{}")
                fake.requests.append(
                    {
                        "method": "POST",
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                behaviour = fake.behaviours.popleft() if fake.behaviours else "ok"
                if behaviour != "401" and not fake.authorized(self.headers):
                    return fake.refuse_key(self)
                try:
                    fake.answer(self, body, behaviour)
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    fake.client_hung_up.set()

        self.address = self.serve(Handler)

    # What each fake fills in.

    def key_of(self, headers) -> str:
        raise NotImplementedError

    def authorized(self, headers) -> bool:
        return self.key_of(headers) in self.valid_keys

    def refuse_key(self, handler) -> None:
        raise NotImplementedError

    def error(self, handler, code: int) -> None:
        raise NotImplementedError

    def models(self, handler) -> None:
        raise NotImplementedError

    def events(self, body: dict, words: list[str], mode: str) -> list[bytes]:
        """The stream's events as raw bytes, up to where `mode` stops it."""
        raise NotImplementedError

    def stream_error_event(self) -> bytes:
        raise NotImplementedError

    # Shared.

    @staticmethod
    def send_json(handler, status: int, payload: dict, extra: dict | None = None) -> None:
        raw = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(len(raw)))
        for key, value in (extra or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(raw)

    @staticmethod
    def write_chunk(handler, data: bytes) -> None:
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        handler.wfile.flush()

    def answer(self, handler, body: dict, behaviour: str) -> None:
        if behaviour in ("500", "503", "429", "401"):
            return self.error(handler, int(behaviour))
        if behaviour == "slow":
            time.sleep(self.sleep_seconds)
            try:
                self.error(handler, 500)
            except OSError:
                self.client_hung_up.set()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        if behaviour.startswith("replay:"):
            self.write_chunk(handler, Path(behaviour[7:]).read_bytes())
        elif behaviour == "drip":
            events = self.events(body, ["more "] * 2, "cut")
            for event in events:
                self.write_chunk(handler, event)
            while True:
                time.sleep(0.05)
                self.write_chunk(handler, events[-1])
        else:
            text = behaviour[5:] if behaviour.startswith("text:") else self.reply
            words = [w + " " for w in text.split(" ")[:-1]] + [text.split(" ")[-1]]
            events = self.events(body, words, behaviour)
            for event in events:
                self.write_chunk(handler, event)
            if behaviour == "cut":
                handler.close_connection = True
                return  # no terminating chunk: the body ends early
            if behaviour == "error":
                self.write_chunk(handler, self.stream_error_event())
        handler.wfile.write(b"0\r\n\r\n")


class FakeGemini(FakeProviderServer):
    model = "gemini-2.5-flash"

    @property
    def base_url(self) -> str:
        return self.address + "/"

    def key_of(self, headers) -> str:
        return headers.get("x-goog-api-key", "")

    @staticmethod
    def google_error(code: int, status: str, message: str, details: list | None = None) -> dict:
        return {"error": {"code": code, "message": message, "status": status, "details": details or []}}

    def refuse_key(self, handler) -> None:
        reason = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
        reason["domain"] = "googleapis.com"
        payload = self.google_error(
            400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [reason]
        )
        self.send_json(handler, 400, payload)

    def error(self, handler, code: int) -> None:
        if code == 401:
            return self.refuse_key(handler)
        statuses = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
        extra = {"Retry-After": self.retry_after} if self.retry_after and code in (429, 503) else None
        self.send_json(handler, code, self.google_error(code, statuses[code], "The service failed."), extra)

    def models(self, handler) -> None:
        models = [
            {"name": f"models/{name}", "displayName": name, "supportedGenerationMethods": ["generateContent"]}
            for name in ("gemini-2.5-flash", "gemini-2.5-pro")
        ]
        self.send_json(handler, 200, {"models": models})

    def model_of(self, path: str) -> str:
        found = re.search(r"/models/([^/:?]+):streamGenerateContent", path)
        return found.group(1) if found else self.model

    def events(self, body: dict, words: list[str], mode: str) -> list[bytes]:
        model = self.model_of(self.completions[-1]["path"])
        out = []
        shown = words[:2] if mode in ("cut", "error") else words
        for index, word in enumerate(shown):
            candidate = {"content": {"parts": [{"text": word}], "role": "model"}, "index": 0}
            event = {"candidates": [candidate], "modelVersion": model}
            if index == len(words) - 1:
                candidate["finishReason"] = "STOP"
                usage = {"promptTokenCount": self.prompt_tokens, "candidatesTokenCount": len(words)}
                event["usageMetadata"] = usage | {"totalTokenCount": self.prompt_tokens + len(words)}
            out.append(b"data: " + json.dumps(event).encode() + b"\r\n\r\n")
        return out

    def stream_error_event(self) -> bytes:
        error = self.google_error(503, "UNAVAILABLE", "The model is overloaded.")
        return b"data: " + json.dumps(error).encode() + b"\r\n\r\n"


class FakeAnthropic(FakeProviderServer):
    model = "claude-haiku-4-5"

    @property
    def base_url(self) -> str:
        return self.address

    def key_of(self, headers) -> str:
        return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")

    @staticmethod
    def anthropic_error(kind: str, message: str) -> dict:
        return {"type": "error", "error": {"type": kind, "message": message}}

    def refuse_key(self, handler) -> None:
        self.send_json(handler, 401, self.anthropic_error("authentication_error", "invalid x-api-key"))

    def error(self, handler, code: int) -> None:
        if code == 401:
            return self.refuse_key(handler)
        kinds = {429: "rate_limit_error", 500: "api_error", 503: "overloaded_error"}
        extra = {"retry-after": self.retry_after} if self.retry_after and code in (429, 503) else None
        self.send_json(handler, code, self.anthropic_error(kinds[code], "The service failed."), extra)

    def models(self, handler) -> None:
        data = [
            {"type": "model", "id": name, "display_name": name, "created_at": "2025-10-01T00:00:00Z"}
            for name in ("claude-haiku-4-5", "claude-sonnet-4-5")
        ]
        self.send_json(
            handler, 200, {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
        )

    @staticmethod
    def sse(kind: str, payload: dict) -> bytes:
        return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()

    def events(self, body: dict, words: list[str], mode: str) -> list[bytes]:
        model = body.get("model", self.model)
        message = {"id": "msg_fake1", "type": "message", "role": "assistant", "content": [], "model": model}
        message |= {"stop_reason": None, "stop_sequence": None}
        message["usage"] = {"input_tokens": self.prompt_tokens, "output_tokens": 1}
        out = [
            self.sse("message_start", {"type": "message_start", "message": message}),
            self.sse(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            self.sse("ping", {"type": "ping"}),
        ]
        shown = words[:2] if mode in ("cut", "error") else words
        for word in shown:
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}}
            out.append(self.sse("content_block_delta", delta))
        if mode in ("cut", "error"):
            return out
        out.append(self.sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        stop = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}}
        out.append(self.sse("message_delta", stop | {"usage": {"output_tokens": len(words)}}))
        out.append(self.sse("message_stop", {"type": "message_stop"}))
        return out

    def stream_error_event(self) -> bytes:
        return self.sse("error", self.anthropic_error("overloaded_error", "Overloaded"))


def fake_providers_settings(settings, *, gemini: FakeGemini | None = None, claude: FakeAnthropic | None = None) -> None:
    """Point the gemini and claude providers at the fakes, with a valid key each, and make retries instant."""
    if gemini is not None:
        settings.GEMINI_BASE_URL, settings.GEMINI_API_KEY, settings.GEMINI_MODEL = (
            gemini.base_url,
            "fake-valid-key-1234",
            gemini.model,
        )
    if claude is not None:
        settings.ANTHROPIC_BASE_URL, settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_MODEL = (
            claude.base_url,
            "fake-valid-key-1234",
            claude.model,
        )
    settings.AI_REQUEST_TIMEOUT_SECONDS = 10.0
    settings.AI_RETRY_BACKOFF_SECONDS = 0
