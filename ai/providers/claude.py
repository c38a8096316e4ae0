"""Anthropic Claude through the official `anthropic` SDK: `messages.create(stream=True)`, i.e. `POST
{base_url}/v1/messages` answered with `message_start`, `content_block_delta`, `message_delta` and `message_stop`
events (and `error` events when the answer breaks off). SDK retries are off: the router owns retries.
"""

from collections.abc import AsyncIterator

import anthropic
import anyio
import httpx2
from anthropic import AsyncAnthropic
from django.conf import settings

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
from .prompt import system_for, turns_for


def provider_error_from(exc: Exception) -> ProviderError:
    """The ProviderError for an SDK or transport exception; its message never includes the response body."""
    if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        return ProviderError(TIMEOUT_ERROR_MESSAGE, status="timeout")
    if isinstance(exc, anthropic.APIStatusError):
        if exc.status_code < 400:
            # An `error` event inside a 200 stream (overloaded_error, api_error): the answer broke off.
            return ProviderError("The provider reported an error while streaming.")
        return http_status_error(exc.status_code, headers=exc.response.headers)
    if isinstance(exc, anthropic.APIConnectionError | httpx2.RequestError | anyio.EndOfStream):
        return ProviderError(CONNECTION_ERROR_MESSAGE)
    return ProviderError(f"The provider call failed ({type(exc).__name__}).")


def client_for(*, api_key: str, base_url: str) -> AsyncAnthropic:
    """An SDK client on its aiohttp transport (as the openai provider's), with our timeout and no retries."""
    return AsyncAnthropic(
        api_key=api_key,
        base_url=base_url,
        timeout=settings.AI_REQUEST_TIMEOUT_SECONDS,
        max_retries=0,
        http_client=anthropic.DefaultAioHttpClient(verify=tls_context()),
    )


async def _client_close(client: AsyncAnthropic) -> None:
    await client.close()


class ClaudeProvider(KeyedProvider):
    """Claude, streaming; `usage` carries the answer's own input and output token counts."""

    name = "claude"

    async def stream(self, request: ChatRequest, usage: Usage) -> AsyncIterator[str]:
        usage.provider, usage.model = self.name, self.model
        system = system_for(request)
        messages = turns_for(request)
        usage.tokens_in = estimate_tokens(system) + sum(estimate_tokens(m["content"]) for m in messages)
        usage.tokens_out = 0
        produced_chars = 0
        lease = client_lease(
            key=("claude", self.api_key, self.base_url),
            build=lambda: client_for(api_key=self.api_key, base_url=self.base_url),
            close=_client_close,
        )
        async with lease as client:
            try:
                events = await client.messages.create(
                    model=self.model,
                    system=system,
                    messages=messages,
                    max_tokens=request.max_tokens,
                    stream=True,  # (this SDK version has no temperature parameter: the model's default applies)
                )
                async with events:
                    async for event in events:
                        if event.type == "message_start":
                            usage.model = event.message.model or self.model
                            usage.tokens_in = event.message.usage.input_tokens
                        elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                            produced_chars += len(event.delta.text)
                            usage.tokens_out = estimate_tokens_for_length(produced_chars)
                            yield event.delta.text
                        elif event.type == "message_delta" and event.usage is not None:
                            usage.tokens_out = event.usage.output_tokens
            except (anthropic.AnthropicError, httpx2.HTTPError, anyio.EndOfStream, ValueError) as exc:
                raise provider_error_from(exc) from None

    async def models_available(self) -> list[str]:
        """`GET {base_url}/v1/models` with the key."""
        client = client_for(api_key=self.api_key, base_url=self.base_url)
        try:
            page = await client.models.list(limit=100)
            return [model.id async for model in page]
        except (anthropic.AnthropicError, httpx2.HTTPError, ValueError) as exc:
            raise provider_error_from(exc) from None
        finally:
            await client.close()
