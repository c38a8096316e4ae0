"""OpenAI and OpenAI-compatible endpoints (Groq, self-hosted): streamed chat completions.

The completions are plain HTTP on aiohttp (a JSON POST, a Server-Sent Events body): the `openai` SDK's
request building cost ~0.5 ms of CPU per call on top of aiohttp's own, on the event loop that relays every
chat's chunks (measured against bench/chat.py's fake model: 1.0 ms against 0.5 ms per 20-chunk answer).
The SDK still lists a key's models (`models_list`), a rare call.
"""

import asyncio
import contextlib
import contextvars
import functools
import json
import ssl
import urllib.parse
import urllib.request
import weakref
from collections.abc import AsyncIterator

import aiohttp
import openai
from django.conf import settings
from openai import AsyncOpenAI

from .base import ChatRequest, Provider, ProviderError, Usage
from .local import estimate_tokens, estimate_tokens_for_length

TIMEOUT_MESSAGE = "The provider did not answer in time."
UNREACHABLE_MESSAGE = "The provider could not be reached."


def _status_of_http(code: int) -> tuple[str, bool, str]:
    """(ProviderCall status, retryable, safe message) for an HTTP error status; never the response body."""
    if code == 429:
        return "rate_limited", True, "The provider is rate limiting requests (429)."
    if code >= 500:
        return "error", True, f"The provider failed with HTTP {code}."
    if code in (401, 403):
        return "error", False, f"The provider refused the key (HTTP {code})."
    return "error", False, f"The provider rejected the request (HTTP {code})."


def _status_of(exc: Exception) -> tuple[str, bool, str]:
    """(ProviderCall status, retryable, safe message) for an SDK exception; never includes response bodies."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout", True, TIMEOUT_MESSAGE
    if isinstance(exc, openai.APIStatusError):
        return _status_of_http(exc.status_code)
    if isinstance(exc, openai.APIConnectionError):
        return "error", True, UNREACHABLE_MESSAGE
    return "error", True, f"The provider call failed ({type(exc).__name__})."


def provider_error_from(exc: Exception) -> ProviderError:
    status, retryable, message = _status_of(exc)
    return ProviderError(message, retryable=retryable, status=status)


def http_status_error(code: int) -> ProviderError:
    status, retryable, message = _status_of_http(code)
    return ProviderError(message, retryable=retryable, status=status)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: building it loads the whole CA bundle (~80 ms of blocked event loop),
    which the SDK would otherwise repeat for every client, i.e. for every chat answer."""
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


def client_for(*, api_key: str, base_url: str, timeout: float | None = None) -> AsyncOpenAI:
    """An SDK client with our timeout and no SDK-level retries (for listing a key's models)."""
    return AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout if timeout is not None else settings.AI_REQUEST_TIMEOUT_SECONDS,
        max_retries=0,
        http_client=openai.DefaultAioHttpClient(verify=_tls_context()),
    )


# The SDK's own limit: hundreds of answers stream at once from one process (aiohttp's default is 100).
MAX_CONNECTIONS = 1000
_kept_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession]" = (
    weakref.WeakKeyDictionary()
)
_clients_per_call: contextvars.ContextVar[bool] = contextvars.ContextVar("clients_per_call", default=False)


def _session_new() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=_tls_context(), limit=MAX_CONNECTIONS))


@functools.lru_cache(maxsize=64)
def _proxy_for(url: str) -> str | None:
    """The proxy for a provider URL from HTTP(S)_PROXY and NO_PROXY, which the SDK's httpx client honoured.

    Read once per URL: aiohttp's `trust_env` reads them again on every request (0.33 -> 0.69 ms of CPU
    per call against bench/chat.py's fake model).
    """
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies()
    if parts.scheme not in proxies or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxies[parts.scheme]


def _request_timeout() -> aiohttp.ClientTimeout:
    # Per read, not for the whole answer: a long answer may stream for minutes, a silent provider may not.
    seconds = settings.AI_REQUEST_TIMEOUT_SECONDS
    return aiohttp.ClientTimeout(total=None, sock_connect=seconds, sock_read=seconds)


@contextlib.contextmanager
def clients_per_call():
    """Within this block, provider calls use an HTTP session of their own, closed after the call.

    For synchronous callers (`async_to_sync`): each call runs in an event loop that ends with it, so a
    session kept for the loop would only leak its connections.
    """
    token = _clients_per_call.set(True)
    try:
        yield
    finally:
        _clients_per_call.reset(token)


@contextlib.asynccontextmanager
async def http_session():
    """The HTTP session for one provider call: the event loop's kept session, whose connections stay open.

    An answer then skips a TCP/TLS handshake. Sessions are bound to the loop that created them (their
    connections are), hence one per loop; it serves every endpoint and key (keys travel per request).
    """
    if _clients_per_call.get():
        async with _session_new() as session:
            yield session
        return
    loop = asyncio.get_running_loop()
    session = _kept_sessions.get(loop)
    if session is None or session.closed:
        session = _kept_sessions[loop] = _session_new()
    yield session


async def kept_clients_close() -> None:
    """Close the running loop's kept HTTP session (a loop that is about to end: tests, shutdown)."""
    session = _kept_sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()


class SSEDecoder:
    """Server-Sent Events from bytes as they arrive: `feed` returns the `data` of each event completed so far
    (multi-line data joined by newlines); a line or event cut between two reads waits for the next."""

    def __init__(self):
        self._tail = b""
        self._data: list[str] = []

    MAX_LINE_BYTES = 1_048_576  # a body that never ends a line is not an event stream

    def feed(self, received: bytes) -> list[str]:
        lines = (self._tail + received).split(b"\n")
        self._tail = lines.pop()
        if len(self._tail) > self.MAX_LINE_BYTES:
            raise ValueError("An event stream line is too long.")
        events = []
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8")
            if not line:
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
            elif line.startswith("data:"):
                self._data.append(line[6:] if line.startswith("data: ") else line[5:])
        return events

    def close(self) -> list[str]:
        """The last event, when the body ended without its blank line."""
        events = self.feed(b"\n\n") if self._tail or self._data else []
        return events


def _stream_error(payload: dict) -> ProviderError:
    error = payload.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return ProviderError(
        f"The provider reported an error: {message}"
        if isinstance(message, str) and message
        else "The provider reported an error while streaming.",
        retryable=True,
        status="error",
    )


def messages_for(request: ChatRequest) -> list[dict]:
    """The system prompt with the grounding context as JSON, then the conversation."""
    system = request.system or "You are a digital-marketing analyst. Answer from the workspace's own numbers."
    if request.context:
        system += "\n\nWorkspace context (JSON):\n" + json.dumps(request.context, default=str, sort_keys=True)
    if request.json_schema:
        system += "\n\nAnswer with one JSON object only, matching this JSON schema:\n" + json.dumps(request.json_schema)
    messages = [{"role": "system", "content": system}]
    messages += [{"role": m["role"], "content": m.get("content", "")} for m in request.messages if m.get("role")]
    return messages


class OpenAICompatibleProvider(Provider):
    """One OpenAI-compatible endpoint; `stream` yields text deltas and keeps `usage` current, also when cancelled."""

    name = "openai"

    def __init__(self, *, api_key: str, base_url: str, model: str, name: str | None = None):
        self.api_key, self.base_url, self.model = api_key, base_url, model
        if name:
            self.name = name

    def is_configured(self) -> bool:
        return bool(self.api_key)

    @staticmethod
    def _pieces(chunk: dict, usage: Usage) -> list[str]:
        """The text deltas of one streamed chunk; its usage and model, when present, go into `usage`."""
        if chunk.get("error"):
            raise _stream_error(chunk)
        if chunk.get("usage"):
            usage.tokens_in = chunk["usage"].get("prompt_tokens") or 0
            usage.tokens_out = chunk["usage"].get("completion_tokens") or 0
        if chunk.get("model"):
            usage.model = chunk["model"]
        return [piece for choice in chunk.get("choices") or [] if (piece := (choice.get("delta") or {}).get("content"))]

    async def stream(self, request: ChatRequest, usage: Usage) -> AsyncIterator[str]:
        usage.provider, usage.model = self.name, self.model
        messages = messages_for(request)
        # Estimates until the final usage chunk arrives (a cancelled stream never gets it).
        usage.tokens_in = sum(estimate_tokens(m["content"]) for m in messages)
        usage.tokens_out = 0
        produced_chars = 0
        body = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.json_schema:
            body["response_format"] = {"type": "json_object"}
        body = {key: value for key, value in body.items() if value is not None}
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "text/event-stream"}
        url = self.base_url.rstrip("/") + "/chat/completions"
        async with http_session() as session:
            try:
                response = await session.post(
                    url, json=body, headers=headers, timeout=_request_timeout(), proxy=_proxy_for(url)
                )
            except TimeoutError:
                raise ProviderError(TIMEOUT_MESSAGE, retryable=True, status="timeout") from None
            except (aiohttp.ClientError, OSError):  # refused, DNS, TLS
                raise ProviderError(UNREACHABLE_MESSAGE, retryable=True, status="error") from None
            finished = False
            try:
                if response.status >= 400:
                    raise http_status_error(response.status)
                done = False
                decoder = SSEDecoder()
                while not done:
                    # Everything received so far in one step: when the process falls behind (many chats at
                    # once), the chunks waiting are relayed as one instead of paying a frame for each.
                    received = await response.content.readany()
                    events = decoder.feed(received) if received else decoder.close()
                    pieces = []
                    for data in events:
                        if data.startswith("[DONE]"):
                            done = True
                            break
                        delta = self._pieces(json.loads(data), usage)
                        if delta:  # an estimate until the final usage chunk (after the text) arrives
                            pieces += delta
                            produced_chars += sum(len(piece) for piece in delta)
                            usage.tokens_out = estimate_tokens_for_length(produced_chars)
                    if pieces:
                        yield "".join(pieces)
                    if not received:
                        break
                await response.read()  # to the end of the body: the connection is then reused
                finished = True
            except TimeoutError:
                raise ProviderError(TIMEOUT_MESSAGE, retryable=True, status="timeout") from None
            except (aiohttp.ClientError, OSError):
                raise ProviderError("The provider connection broke.", retryable=True, status="error") from None
            except ValueError:  # not JSON, not UTF-8, or a line past aiohttp's limit
                raise ProviderError("The provider sent a malformed stream.", retryable=True, status="error") from None
            finally:
                if finished:
                    response.release()  # read to its end: the connection goes back to the pool
                else:
                    response.close()  # stopped or broken: hang up, so the provider stops generating


async def models_list(*, api_key: str, base_url: str) -> list[str]:
    """The model ids the key may use (`GET {base_url}/models`): the real call that validates a key."""
    client = client_for(api_key=api_key, base_url=base_url)
    try:
        page = await client.models.list()
        return [model.id async for model in page]
    except openai.OpenAIError as exc:
        raise provider_error_from(exc) from None
    finally:
        await client.close()
