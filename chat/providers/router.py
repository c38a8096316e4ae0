"""Try providers in the configured order, fall back on failures, end with a helpful answer (DESIGN §7)."""

from collections.abc import AsyncIterator

from django.conf import settings

from .base import ChatRequest, Provider, ProviderError, Usage
from .local import LocalProvider

FALLBACK_ANSWER = (
    "I could not reach an AI model just now. Your data is safe and your question is saved: "
    "please try again in a minute."
)


def providers_for(*, workspace=None) -> list[Provider]:
    """Configured providers in order, skipping those without a key."""
    names = settings.AI_PROVIDERS
    if workspace is not None and getattr(workspace, "ai_providers", ""):
        names = [n.strip() for n in workspace.ai_providers.split(",") if n.strip()]
    registry = {"local": LocalProvider}
    providers = [registry[name]() for name in names if name in registry]
    return [p for p in providers if p.is_configured()] or [LocalProvider()]


async def stream_reply(*, request: ChatRequest, workspace=None) -> AsyncIterator[dict]:
    """Yield chunk events, then one usage event. Failures before the first chunk fall back silently."""
    for provider in providers_for(workspace=workspace):
        usage = Usage(provider=provider.name, model="")
        sent_any = False
        try:
            async for piece in provider.stream(request, usage):
                sent_any = True
                yield {"type": "chunk", "content": piece}
        except ProviderError as exc:
            if sent_any:
                yield {"type": "error", "message": "The answer was interrupted by a provider error."}
                yield _usage_event(usage)
                return
            del exc
            continue
        yield _usage_event(usage)
        return
    yield {"type": "chunk", "content": FALLBACK_ANSWER}
    yield {"type": "usage", "provider": "fallback", "model": "", "tokensIn": 0, "tokensOut": 0}


def _usage_event(usage: Usage) -> dict:
    return {
        "type": "usage",
        "provider": usage.provider,
        "model": usage.model,
        "tokensIn": usage.tokens_in,
        "tokensOut": usage.tokens_out,
    }


async def complete(*, request: ChatRequest, workspace=None) -> tuple[str, dict]:
    """The whole answer as text plus its usage event (one-shot calls: intent, recommendations, content)."""
    text, usage = [], {}
    async for event in stream_reply(request=request, workspace=workspace):
        if event["type"] == "chunk":
            text.append(event["content"])
        elif event["type"] == "usage":
            usage = event
    return "".join(text), usage
