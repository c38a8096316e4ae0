"""OpenAI and OpenAI-compatible endpoints (Groq, self-hosted) through the official `openai` SDK, streaming."""

import json
import ssl
from collections.abc import AsyncIterator

import anyio
import httpx2
import openai
from django.conf import settings
from openai import AsyncOpenAI

from .base import (
    CONNECTION_ERROR_MESSAGE,
    TIMEOUT_ERROR_MESSAGE,
    ChatRequest,
    KeyedProvider,
    ProviderError,
    Usage,
    estimate_tokens,
    estimate_tokens_for_length,
    http_status_error,
)
from .kept import client_lease, tls_context
from .prompt import system_for


def provider_error_from(exc: Exception) -> ProviderError:
    """The ProviderError for an SDK exception; its message never includes the response body."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(TIMEOUT_ERROR_MESSAGE, status="timeout")
    if isinstance(exc, openai.APIStatusError):
        return http_status_error(exc.status_code, headers=exc.response.headers)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError("The provider could not be reached.")
    return ProviderError(f"The provider call failed ({type(exc).__name__}).")


def client_for(*, api_key: str, base_url: str, timeout: float | None = None) -> AsyncOpenAI:
    """An SDK client with our timeout and no SDK-level retries (the router owns retries).

    It runs on the SDK's aiohttp transport: it reads a streamed answer with less CPU per chunk than the default
    httpx one, and its connection pool does not scan every connection on each request, so many concurrent
    streams on one kept client stay cheap (figures: bench/README.md, "bench/ai.py").
    """
    return AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout if timeout is not None else settings.AI_REQUEST_TIMEOUT_SECONDS,
        max_retries=0,
        http_client=openai.DefaultAioHttpClient(verify=tls_context()),
    )


async def _client_close(client: AsyncOpenAI) -> None:
    await client.close()


def openai_client_lease(*, api_key: str, base_url: str):
    """The kept SDK client of the running loop for this endpoint and key (see `kept.client_lease`)."""
    return client_lease(
        key=("openai", api_key, base_url),
        build=lambda: client_for(api_key=api_key, base_url=base_url),
        close=_client_close,
    )


class SSEDecoder:
    """Server-Sent Events from bytes as they arrive: `feed` returns the `data` of each event completed so far
    (multi-line data joined by newlines); a line or event cut between two reads waits for the next."""

    MAX_LINE_BYTES = 1_048_576  # a body that never ends a line is not an event stream

    def __init__(self):
        self._tail = b""
        self._data: list[str] = []

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
        return self.feed(b"\n\n") if self._tail or self._data else []


async def _event_batches(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[str]]:
    """The events of a streamed body, one list per network read: chunks that arrived together go on together,
    so a process that falls behind (many chats at once) relays them as one instead of paying a frame each."""
    decoder = SSEDecoder()
    async for received in chunks:
        yield decoder.feed(received)
    yield decoder.close()


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
    """The system prompt with the grounding context, then the conversation."""
    messages = [{"role": "system", "content": system_for(request)}]
    messages += [{"role": m["role"], "content": m.get("content", "")} for m in request.messages if m.get("role")]
    return messages


class OpenAICompatibleProvider(KeyedProvider):
    """One OpenAI-compatible endpoint; `stream` yields text deltas and keeps `usage` current, also when cancelled."""

    name = "openai"

    async def models_available(self) -> list[str]:
        """`GET {base_url}/models` with the key."""
        client = client_for(api_key=self.api_key, base_url=self.base_url)
        try:
            page = await client.models.list()
            return [model.id async for model in page]
        except openai.OpenAIError as exc:
            raise provider_error_from(exc) from None
        finally:
            await client.close()

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
        async with openai_client_lease(api_key=self.api_key, base_url=self.base_url) as client:
            # The SDK's own request (auth, base URL, timeouts, HTTP errors as openai exceptions) with the body
            # as plain JSON, and its stream read as plain JSON: the typed layer of `chat.completions.create`
            # validates the parameters on every request and builds a typed object per chunk, CPU a busy chat
            # process cannot spare (figures: bench/README.md, "bench/ai.py").
            try:
                response = await client.post("/chat/completions", body=body, cast_to=httpx2.Response, stream=True)
            except openai.OpenAIError as exc:
                raise provider_error_from(exc) from None
            try:
                done = False
                async for events in _event_batches(response.aiter_bytes()):
                    pieces = []
                    for data in events:
                        done = done or data.startswith("[DONE]")
                        if done:
                            continue  # read on to the end of the body: the connection is then reused
                        for piece in self._pieces(json.loads(data), usage):
                            pieces.append(piece)
                            produced_chars += len(piece)
                            usage.tokens_out = estimate_tokens_for_length(produced_chars)
                    if pieces:
                        yield "".join(pieces)
            except httpx2.TimeoutException:
                raise ProviderError(TIMEOUT_ERROR_MESSAGE, status="timeout") from None
            except (httpx2.RequestError, ssl.SSLError, anyio.EndOfStream):
                raise ProviderError(CONNECTION_ERROR_MESSAGE) from None
            except ValueError:  # not JSON, not UTF-8, or a line without end
                raise ProviderError("The provider sent a malformed stream.", retryable=True, status="error") from None
            finally:
                await response.aclose()
