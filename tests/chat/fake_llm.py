"""A fake OpenAI-compatible streaming endpoint for the chat tests, served from a thread on 127.0.0.1:0.

It speaks the real wire format (chunked `text/event-stream` of `chat.completion.chunk` objects, the usage
chunk, `data: [DONE]`) so the official SDK and our router run unchanged. Knobs: `words` (the answer),
`delay` (seconds between chunks), `first_delay`, `die_after` (drop the connection after that many chunks, without the
chunked terminator: a provider failure mid-stream). `hung_up` is set when the client closed the stream.
JSON-mode requests (intent analysis) get a neutral intent at once.
"""

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

from tests.ai.fake_providers import FakeProviderServer, ServedFromThread, running

NEUTRAL_INTENT = {
    "intent": "general_question",
    "confidence": 0.9,
    "requiresAuth": False,
    "module": "chat",
    "action": "answer",
    "entities": {},
}


class FakeLLM(ServedFromThread):
    def __init__(self, *, words: list[str] | None = None, delay: float = 0.0, die_after: int | None = None):
        self.words = words or [f"word{i} " for i in range(20)]
        self.delay = delay
        self.first_delay = 0.0
        self.die_after = die_after
        self.hung_up = threading.Event()
        self.chat_requests = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "fake-model"}
                try:
                    if body.get("response_format"):
                        self._send(base | self._choice(json.dumps(NEUTRAL_INTENT)))
                        self._end(base, 5)
                        return
                    fake.chat_requests += 1
                    if fake.first_delay:
                        time.sleep(fake.first_delay)
                    for index, word in enumerate(fake.words):
                        if fake.die_after is not None and index == fake.die_after:
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        self._send(base | self._choice(word))
                        if fake.delay:
                            time.sleep(fake.delay)
                    self._end(base, len(fake.words))
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    fake.hung_up.set()

            @staticmethod
            def _choice(content):
                return {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}], "usage": None}

            def _send(self, obj):
                data = ("data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n").encode()
                FakeProviderServer.write_chunk(self, data)

            def _end(self, base, tokens_out):
                usage = {"prompt_tokens": 50, "completion_tokens": tokens_out, "total_tokens": 50 + tokens_out}
                self._send(base | {"choices": [], "usage": usage})
                self._send("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.base_url = self.serve(Handler) + "/v1"

    @property
    def text(self) -> str:
        return "".join(self.words)


@contextlib.contextmanager
def fake_llm_as_provider(settings, **knobs) -> Iterator[FakeLLM]:
    """A FakeLLM with these knobs, started and made the router's only provider; stopped when the block ends."""
    with running(FakeLLM(**knobs)) as fake:
        settings.AI_PROVIDERS = ["openai"]
        settings.OPENAI_API_KEY = "sk-test-chat"
        settings.OPENAI_BASE_URL = fake.base_url
        settings.OPENAI_MODEL = "fake-model"
        settings.AI_RETRY_BACKOFF_SECONDS = 0
        yield fake


def wait_until(predicate, *, timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
