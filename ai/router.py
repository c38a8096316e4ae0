"""Try providers in the configured order, fall back on failures, end with a helpful answer (DESIGN §7).

Each attempt is logged as a ProviderCall (tokens, cost, latency, status). Timeouts, 5xx and 429 are retried
once, after a backoff that honours the provider's Retry-After; a Retry-After longer than
AI_RETRY_MAX_WAIT_SECONDS, a 429 without one, a refused key or a bad request move on to the next provider at
once. A provider that breaks off mid-answer is not retried (the text so far was sent): a `notice` event says so
and the next provider answers again from the start. When the consumer stops the stream (the chat "stop"
cancels its task), the upstream HTTP stream is closed and the attempt is logged as `cancelled` with the tokens
counted so far.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from asgiref.sync import async_to_sync
from django.conf import settings

from marketing_ai.db import db_sync_to_async

from .calls import aprovider_call_record, elapsed_ms
from .catalog import LABELS, provider_order_for, settings_api_key
from .keys import provider_key_mark_invalid, provider_keys_for_answer
from .models import ProviderKey
from .providers.base import ChatRequest, Provider, ProviderError, Usage
from .providers.kept import clients_per_call
from .providers.local import LocalProvider
from .providers.registry import PROVIDER_CLASSES, provider_build

logger = logging.getLogger(__name__)

MAX_ATTEMPTS_PER_PROVIDER = 2

FALLBACK_NOTE = (
    "The AI model is unavailable right now, so here is an offline answer from your own numbers "
    "(try again in a minute for a fuller one).\n\n"
)


def providers_for(
    *, workspace=None, user=None, choice: dict | None = None, keys: dict[str, ProviderKey] | None = None
) -> list[Provider]:
    """Configured providers in order, skipping those without a key; never empty (local at worst).

    Keys: the member's personal key first, then the workspace's, then the server's (settings). Providers that
    run on the member's own keys lead the order: their chats use their keys first. A `choice` ({provider,
    model}, checked by `ai.choices.model_choice_resolve`) goes first with its model; the rest stay behind it as
    the fallback. `keys` (from `provider_keys_for_answer`) saves looking them up again when the caller has them.
    """
    if keys is None:
        keys = provider_keys_for_answer(workspace=workspace, user=user)
    providers: list[Provider] = []
    for name in provider_order_for(workspace=workspace):
        key = keys.get(name)
        if name != "local" and name not in PROVIDER_CLASSES:
            continue
        if key is None:
            providers.append(provider_build(name, api_key=settings_api_key(name)))
        else:
            providers.append(
                provider_build(name, api_key=key.secret, base_url=key.base_url, model=key.model, key_id=key.id)
            )
    personal = {name for name, key in keys.items() if key.user_id}
    providers = [p for p in providers if p.is_configured()]
    providers.sort(key=lambda p: p.name not in personal)  # stable: the order holds within each group
    if choice:
        chosen = next((p for p in providers if p.name == choice["provider"]), None)
        if chosen is not None:
            chosen.model = choice["model"]
            providers.remove(chosen)
            providers.insert(0, chosen)
    return providers or [LocalProvider()]


def llm_configured(*, workspace=None, user=None) -> bool:
    """Whether a model provider other than the offline one would be tried first (for `user`'s keys too)."""
    return providers_for(workspace=workspace, user=user)[0].name != "local"


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


def _retry_wait(exc: ProviderError, *, attempt: int) -> float | None:
    """Seconds to wait before trying the same provider again, or None to move on to the next one."""
    if not exc.retryable or attempt + 1 >= MAX_ATTEMPTS_PER_PROVIDER:
        return None
    wait = float(settings.AI_RETRY_BACKOFF_SECONDS) * (attempt + 1)
    if exc.retry_after is not None:
        if exc.retry_after > float(settings.AI_RETRY_MAX_WAIT_SECONDS):
            return None  # the provider asks for longer than a chat should wait: another provider answers now
        return max(wait, exc.retry_after)
    if exc.status == "rate_limited":
        return None  # a 429 without Retry-After: no guess at how long it lasts
    return wait


def _notice(provider: Provider) -> dict:
    label = LABELS.get(provider.name, provider.name)
    return {
        "type": "notice",
        "provider": provider.name,
        "message": f"The answer from {label} broke off, so the next available model answers again from the start.",
    }


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
    """Yield chunk events, then one usage event (of the provider that answered).

    Failures before the first chunk fall back silently; a failure mid-answer yields a `notice` event, then the
    next provider's whole answer (an `error` event instead when no provider is left).
    `llm_only` skips the offline provider and the fallback answer (the caller has its own offline path,
    e.g. intent analysis); then nothing but a usage event from provider "none" may come out.
    `providers` (from `providers_for`) saves looking them up again when the caller already has them.
    `ledger`, when given, collects the ProviderCall rows instead of writing each at once: the caller stores
    them with its own final write (a chat answer: one database trip at its end, none on the way).
    """
    purpose = purpose or request.purpose or "chat"
    if providers is None:
        providers = await db_sync_to_async(providers_for)(workspace=workspace, user=user)
    if llm_only:
        providers = [p for p in providers if p.name != "local"]

    def recorded(usage: Usage, started: float, status: str, error: str = "", shielded: bool = False):
        return _call_recorded(
            ledger,
            shielded=shielded,
            workspace=workspace,
            user=user,
            usage=usage,
            purpose=purpose,
            status=status,
            latency_ms=elapsed_ms(started),
            error=error,
        )

    for index, provider in enumerate(providers):
        for attempt in range(MAX_ATTEMPTS_PER_PROVIDER):
            usage = Usage(provider=provider.name, model=provider.model)
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
                await recorded(usage, started, exc.status, str(exc))
                if exc.key_refused and provider.key_id is not None:
                    await db_sync_to_async(provider_key_mark_invalid)(key_id=provider.key_id, reason=str(exc))
                if sent_any:
                    if index + 1 < len(providers):
                        yield _notice(provider)
                        break  # next provider, from the start
                    yield {"type": "error", "message": "The answer was interrupted by a provider error."}
                    yield _usage_event(usage)
                    return
                wait = _retry_wait(exc, attempt=attempt)
                if wait is None:
                    break  # next provider
                await asyncio.sleep(wait)
                continue
            except (asyncio.CancelledError, GeneratorExit):
                # The consumer stopped: close the upstream stream first, then log what was produced.
                await pieces.aclose()
                await recorded(usage, started, "cancelled", "Stopped by the client.", shielded=True)
                raise
            await recorded(usage, started, "ok")
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
    await recorded(usage, started, "ok")
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
        elif event["type"] == "notice":
            text = []  # the next provider answers again from the start
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
