"""Google Gemini through the official `google-genai` SDK: `models.generate_content_stream`, i.e.
`POST {base_url}/{version}/models/{model}:streamGenerateContent?alt=sse`.

The SDK runs on an httpx2 client of ours, not its default aiohttp session: httpx applies the timeout to each
read of the stream (aiohttp's would bound the whole answer), and the client is kept and closed with the loop's
other provider clients. SDK retries are off (one attempt): the router owns retries and fallback.
"""

from collections.abc import AsyncIterator

import anyio
import httpx2
from django.conf import settings
from google import genai
from google.genai import errors, types

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

MODEL_PREFIX = "models/"


def _key_refused(exc: errors.APIError) -> bool:
    # Google answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID (and 403 for a key without access).
    return exc.code in (401, 403) or (exc.code == 400 and "API_KEY_INVALID" in str(exc.details))


def provider_error_from(exc: Exception) -> ProviderError:
    """The ProviderError for an SDK or transport exception; its message never includes the response body."""
    if isinstance(exc, errors.APIError):
        if not exc.code or exc.code < 400:
            # An error object inside a 200 stream: the answer broke off on the provider's side.
            return ProviderError("The provider reported an error while streaming.")
        headers = getattr(getattr(exc, "response", None), "headers", None)
        return http_status_error(exc.code, headers=headers, key_refused=_key_refused(exc))
    if isinstance(exc, httpx2.TimeoutException):
        return ProviderError(TIMEOUT_ERROR_MESSAGE, status="timeout")
    if isinstance(exc, (httpx2.RequestError, anyio.EndOfStream)):
        return ProviderError(CONNECTION_ERROR_MESSAGE)
    if isinstance(exc, (errors.UnknownApiResponseError, ValueError)):
        return ProviderError("The provider sent a malformed stream.")
    return ProviderError(f"The provider call failed ({type(exc).__name__}).")


def client_for(*, api_key: str, base_url: str) -> tuple[genai.Client, httpx2.AsyncClient]:
    """The SDK client and the httpx2 client it runs on (the SDK leaves closing a client it was given to us)."""
    timeout = float(settings.AI_REQUEST_TIMEOUT_SECONDS)
    http = httpx2.AsyncClient(timeout=timeout, verify=tls_context())
    options = types.HttpOptions(
        base_url=base_url,
        timeout=int(timeout * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
        httpx_async_client=http,
    )
    return genai.Client(api_key=api_key, http_options=options), http


async def _client_close(clients: tuple[genai.Client, httpx2.AsyncClient]) -> None:
    await clients[0].aio.aclose()
    await clients[1].aclose()


def _contents_for(request: ChatRequest) -> list[types.Content]:
    return [
        types.Content(role="model" if turn["role"] == "assistant" else "user", parts=[types.Part(text=turn["content"])])
        for turn in turns_for(request)
    ]


def _text_of(chunk: types.GenerateContentResponse) -> str:
    # Not `chunk.text`: it warns on every chunk that carries a non-text part (thought signatures).
    candidates = chunk.candidates or []
    parts = (candidates[0].content.parts or []) if candidates and candidates[0].content else []
    return "".join(part.text for part in parts if part.text and not part.thought)


class GeminiProvider(KeyedProvider):
    """Gemini, streaming; `usage` carries the response's `usageMetadata` (estimates until it arrives)."""

    name = "gemini"

    def _lease(self):
        return client_lease(
            key=("gemini", self.api_key, self.base_url),
            build=lambda: client_for(api_key=self.api_key, base_url=self.base_url),
            close=_client_close,
        )

    async def stream(self, request: ChatRequest, usage: Usage) -> AsyncIterator[str]:
        usage.provider, usage.model = self.name, self.model
        system = system_for(request)
        contents = _contents_for(request)
        usage.tokens_in = estimate_tokens(system) + sum(estimate_tokens(c.parts[0].text) for c in contents)
        usage.tokens_out = 0
        config = types.GenerateContentConfig(
            system_instruction=system,
            max_output_tokens=request.max_tokens,
            temperature=request.temperature,
            response_mime_type="application/json" if request.json_schema else None,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),  # no tools: no AFC loop
        )
        produced_chars = 0
        async with self._lease() as (client, _http):
            try:
                chunks = await client.aio.models.generate_content_stream(
                    model=self.model, contents=contents, config=config
                )
                async for chunk in chunks:
                    metadata = chunk.usage_metadata
                    if metadata is not None and metadata.prompt_token_count is not None:
                        usage.tokens_in = metadata.prompt_token_count
                    if chunk.model_version:
                        usage.model = chunk.model_version
                    text = _text_of(chunk)
                    if text:
                        produced_chars += len(text)
                        usage.tokens_out = estimate_tokens_for_length(produced_chars)
                    if metadata is not None and metadata.candidates_token_count is not None:
                        usage.tokens_out = metadata.candidates_token_count + (metadata.thoughts_token_count or 0)
                    if text:
                        yield text
            except (errors.APIError, httpx2.HTTPError, anyio.EndOfStream, ValueError) as exc:
                raise provider_error_from(exc) from None

    async def models_available(self) -> list[str]:
        """`GET {base_url}/{version}/models` with the key."""
        clients = client_for(api_key=self.api_key, base_url=self.base_url)
        try:
            pager = await clients[0].aio.models.list(config={"page_size": 100, "query_base": True})
            return [model.name.removeprefix(MODEL_PREFIX) async for model in pager if model.name]
        except (errors.APIError, httpx2.HTTPError, ValueError) as exc:
            raise provider_error_from(exc) from None
        finally:
            await _client_close(clients)
