"""OpenAI and OpenAI-compatible endpoints (Groq, self-hosted) through the official `openai` SDK, streaming."""

import functools
import json
import ssl
from collections.abc import AsyncIterator

import openai
from django.conf import settings
from openai import AsyncOpenAI

from .base import ChatRequest, Provider, ProviderError, Usage
from .local import estimate_tokens


def _status_of(exc: Exception) -> tuple[str, bool, str]:
    """(ProviderCall status, retryable, safe message) for an SDK exception; never includes response bodies."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout", True, "The provider did not answer in time."
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited", True, "The provider is rate limiting requests (429)."
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        if code >= 500:
            return "error", True, f"The provider failed with HTTP {code}."
        if code in (401, 403):
            return "error", False, f"The provider refused the key (HTTP {code})."
        return "error", False, f"The provider rejected the request (HTTP {code})."
    if isinstance(exc, openai.APIConnectionError):
        return "error", True, "The provider could not be reached."
    return "error", True, f"The provider call failed ({type(exc).__name__})."


def provider_error_from(exc: Exception) -> ProviderError:
    status, retryable, message = _status_of(exc)
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
    """An SDK client with our timeout and no SDK-level retries (the router owns retries)."""
    return AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout if timeout is not None else settings.AI_REQUEST_TIMEOUT_SECONDS,
        max_retries=0,
        http_client=openai.DefaultAsyncHttpx2Client(verify=_tls_context()),
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

    async def stream(self, request: ChatRequest, usage: Usage) -> AsyncIterator[str]:
        usage.provider, usage.model = self.name, self.model
        messages = messages_for(request)
        # Estimates until the final usage chunk arrives (a cancelled stream never gets it).
        usage.tokens_in = sum(estimate_tokens(m["content"]) for m in messages)
        usage.tokens_out = 0
        produced: list[str] = []
        extra = {"response_format": {"type": "json_object"}} if request.json_schema else {}
        client = client_for(api_key=self.api_key, base_url=self.base_url)
        try:
            try:
                stream = await client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    stream=True,
                    stream_options={"include_usage": True},
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    **extra,
                )
            except openai.OpenAIError as exc:
                raise provider_error_from(exc) from None
            # `async with` closes the HTTP response on every exit: normal end, error, cancellation.
            async with stream:
                try:
                    async for chunk in stream:
                        if chunk.usage is not None:
                            usage.tokens_in = chunk.usage.prompt_tokens or 0
                            usage.tokens_out = chunk.usage.completion_tokens or 0
                        if chunk.model:
                            usage.model = chunk.model
                        for choice in chunk.choices or []:
                            piece = choice.delta.content if choice.delta else None
                            if piece:
                                produced.append(piece)
                                usage.tokens_out = estimate_tokens("".join(produced))
                                yield piece
                except openai.OpenAIError as exc:
                    raise provider_error_from(exc) from None
        finally:
            await client.close()


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
