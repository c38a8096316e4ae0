"""Try providers in the configured order, fall back on failures, end with a helpful answer (DESIGN §7).

Each attempt is logged as a ProviderCall (tokens, cost, latency, status). Timeouts and 5xx are retried
once with a short backoff; 429 and other failures move on to the next provider at once. When the consumer
stops the stream (the chat "stop" cancels its task), the upstream HTTP stream is closed and the attempt is
logged as `cancelled` with the tokens counted so far.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from asgiref.sync import async_to_sync
from django.conf import settings

from marketing_ai.db import db_sync_to_async

from .calls import aprovider_call_record, elapsed_ms
from .catalog import GROQ_BASE_URL, GROQ_MODEL, provider_order_for
from .keys import provider_key_active_for
from .providers.base import ChatRequest, Provider, ProviderError, Usage
from .providers.local import LocalProvider
from .providers.openai_compat import OpenAICompatibleProvider, clients_per_call

logger = logging.getLogger(__name__)

MAX_ATTEMPTS_PER_PROVIDER = 2

FALLBACK_NOTE = (
    "The AI model is unavailable right now, so here is an offline answer from your own numbers "
    "(try again in a minute for a fuller one).\n\n"
)


def _provider_named(name: str, *, workspace=None) -> Provider | None:
    if name == "local":
        return LocalProvider()
    key = provider_key_active_for(workspace=workspace, provider=name) if workspace is not None else None
    if name == "openai":
        return OpenAICompatibleProvider(
            name="openai",
            api_key=key.secret if key else settings.OPENAI_API_KEY,
            base_url=(key.base_url if key and key.base_url else settings.OPENAI_BASE_URL),
            model=(key.model if key and key.model else settings.OPENAI_MODEL),
        )
    if name == "groq":
        return OpenAICompatibleProvider(
            name="groq",
            api_key=key.secret if key else getattr(settings, "GROQ_API_KEY", ""),
            base_url=(key.base_url if key and key.base_url else GROQ_BASE_URL),
            model=(key.model if key and key.model else GROQ_MODEL),
        )
    return None


def providers_for(*, workspace=None) -> list[Provider]:
    """Configured providers in order, skipping those without a key; never empty (local at worst)."""
    providers = [_provider_named(name, workspace=workspace) for name in provider_order_for(workspace=workspace)]
    return [p for p in providers if p is not None and p.is_configured()] or [LocalProvider()]


def llm_configured(*, workspace=None) -> bool:
    """Whether a model provider other than the offline one would be tried first."""
    return providers_for(workspace=workspace)[0].name != "local"


def _usage_event(usage: Usage) -> dict:
    return {
        "type": "usage",
        "provider": usage.provider,
        "model": usage.model,
        "tokensIn": usage.tokens_in,
        "tokensOut": usage.tokens_out,
    }


async def _call_recorded(ledger: list[dict] | None, *, usage: Usage, shielded: bool = False, **fields) -> None:
    """Log one provider attempt: into the caller's ledger when it keeps one, else as a ProviderCall row now.

    `shielded` (while being cancelled): the row is written even if the caller is cancelled again meanwhile.
    """
    fields |= {
        "provider": usage.provider,
        "model": usage.model,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
    }
    if ledger is not None:
        ledger.append(fields)
    elif shielded:
        await asyncio.shield(aprovider_call_record(**fields))
    else:
        await aprovider_call_record(**fields)


async def stream_reply(
    *,
    request: ChatRequest,
    workspace=None,
    purpose: str | None = None,
    user=None,
    llm_only: bool = False,
    providers: list[Provider] | None = None,
    ledger: list[dict] | None = None,
) -> AsyncIterator[dict]:
    """Yield chunk events, then one usage event. Failures before the first chunk fall back silently.

    `llm_only` skips the offline provider and the fallback answer (the caller has its own offline path,
    e.g. intent analysis); then nothing but a usage event from provider "none" may come out.
    `providers` (from `providers_for`) saves looking them up again when the caller already has them.
    `ledger`, when given, collects the ProviderCall rows instead of writing each at once: the caller stores
    them with its own final write (a chat answer: one database trip at its end, none on the way).
    """
    purpose = purpose or request.purpose or "chat"
    if providers is None:
        providers = await db_sync_to_async(providers_for)(workspace=workspace)
    if llm_only:
        providers = [p for p in providers if p.name != "local"]
    backoff = float(getattr(settings, "AI_RETRY_BACKOFF_SECONDS", 0.5))
    for provider in providers:
        for attempt in range(MAX_ATTEMPTS_PER_PROVIDER):
            usage = Usage(provider=provider.name, model=getattr(provider, "model", ""))
            started = time.monotonic()
            sent_any = False
            pieces = provider.stream(request, usage)
            try:
                try:
                    async for piece in pieces:
                        sent_any = True
                        yield {"type": "chunk", "content": piece}
                except (ProviderError, asyncio.CancelledError, GeneratorExit):
                    raise
                except Exception as exc:  # a provider bug must not end the chat: log it and move on
                    logger.exception("AI provider %s failed", provider.name)
                    raise ProviderError(f"The provider failed ({type(exc).__name__}).", retryable=False) from None
            except ProviderError as exc:
                await _call_recorded(
                    ledger,
                    workspace=workspace,
                    usage=usage,
                    purpose=purpose,
                    status=exc.status,
                    latency_ms=elapsed_ms(started),
                    error=str(exc),
                )
                if sent_any:
                    yield {"type": "error", "message": "The answer was interrupted by a provider error."}
                    yield _usage_event(usage)
                    return
                if exc.retryable and exc.status != "rate_limited" and attempt + 1 < MAX_ATTEMPTS_PER_PROVIDER:
                    await asyncio.sleep(backoff * (attempt + 1))
                    continue
                break  # next provider
            except (asyncio.CancelledError, GeneratorExit):
                # The consumer stopped: close the upstream stream first, then log what was produced.
                await pieces.aclose()
                await _call_recorded(
                    ledger,
                    shielded=True,
                    workspace=workspace,
                    usage=usage,
                    purpose=purpose,
                    status="cancelled",
                    latency_ms=elapsed_ms(started),
                    error="Stopped by the client.",
                )
                raise
            await _call_recorded(
                ledger, workspace=workspace, usage=usage, purpose=purpose, status="ok", latency_ms=elapsed_ms(started)
            )
            yield _usage_event(usage)
            return
    if llm_only:
        yield {"type": "usage", "provider": "none", "model": "", "tokensIn": 0, "tokensOut": 0}
        return
    # Every provider failed: the offline analyst still answers from the workspace's numbers.
    local = LocalProvider()
    usage = Usage(provider="fallback", model=local.model)
    started = time.monotonic()
    yield {"type": "chunk", "content": FALLBACK_NOTE}
    async for piece in local.stream(request, usage):
        yield {"type": "chunk", "content": piece}
    usage.provider = "fallback"
    await _call_recorded(
        ledger, workspace=workspace, usage=usage, purpose=purpose, status="ok", latency_ms=elapsed_ms(started)
    )
    yield _usage_event(usage)


async def complete(
    *,
    request: ChatRequest,
    workspace=None,
    purpose: str | None = None,
    user=None,
    llm_only: bool = False,
    providers: list[Provider] | None = None,
    ledger: list[dict] | None = None,
) -> tuple[str, dict]:
    """The whole answer as text plus its usage event (one-shot calls: intent, recommendations, content)."""
    text, usage, error = [], {}, None
    async for event in stream_reply(
        request=request,
        workspace=workspace,
        purpose=purpose,
        user=user,
        llm_only=llm_only,
        providers=providers,
        ledger=ledger,
    ):
        if event["type"] == "chunk":
            text.append(event["content"])
        elif event["type"] == "usage":
            usage = event
        elif event["type"] == "error":
            error = event["message"]
    if error:
        usage = {**usage, "error": error}
    return "".join(text), usage


def complete_sync(**kwargs) -> tuple[str, dict]:
    """`complete` for synchronous callers (services, views, tasks); not for code already inside an event loop."""
    with clients_per_call():
        return async_to_sync(complete)(**kwargs)
