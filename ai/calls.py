"""The call log: one ProviderCall row per call to a model or another external API, with its cost (DESIGN §7).

This is the only module that writes ProviderCall. The router logs every model attempt here (itself, once);
adapters of other external APIs (images, ad-platform insights) log their calls through `provider_call_record`.
"""

import time

from marketing_ai.db import db_sync_to_async, rows_inserted

from .models import ProviderCall
from .providers.pricing import cost_for

ERROR_MAX_LENGTH = 500
# The product feature each call purpose belongs to (usage per feature); anything else is "other".
FEATURE_OF_PURPOSE = {
    "chat": ProviderCall.Feature.CHAT,
    "intent": ProviderCall.Feature.CHAT,
    "content": ProviderCall.Feature.CONTENT,
    "image": ProviderCall.Feature.CONTENT,
    "recommendation": ProviderCall.Feature.RECOMMENDATIONS,
    "file_analysis": ProviderCall.Feature.FILE_ANALYSIS,
}


def elapsed_ms(started: float) -> int:
    """Milliseconds since `started` (a time.monotonic() reading): a call's latency."""
    return max(0, int((time.monotonic() - started) * 1000))


def provider_call_build(
    *,
    workspace=None,
    user=None,
    feature: str = "",
    provider: str,
    purpose: str,
    status: str,
    latency_ms: int,
    model: str = "",
    tokens_in: int = 0,
    tokens_out: int = 0,
    error: str = "",
) -> ProviderCall:
    """An unsaved ProviderCall, its cost from the price table; the error text must already be secret-free.

    `user` is the member the call served (anonymous users count as none); `feature` defaults to the purpose's.
    """
    return ProviderCall(
        workspace=workspace,
        user=user if user is not None and user.is_authenticated else None,
        feature=feature or FEATURE_OF_PURPOSE.get(purpose, ProviderCall.Feature.OTHER),
        provider=(provider or "")[:32],
        model=(model or "")[:100],
        purpose=(purpose or "")[:32],
        status=status,
        tokens_in=max(0, int(tokens_in)),
        tokens_out=max(0, int(tokens_out)),
        cost=cost_for(model=model or "", tokens_in=tokens_in, tokens_out=tokens_out),
        latency_ms=max(0, int(latency_ms)),
        error=(error or "")[:ERROR_MAX_LENGTH],
    )


def provider_call_record(**fields) -> ProviderCall:
    """Store one ProviderCall (the fields of `provider_call_build`)."""
    call = provider_call_build(**fields)
    call.save()
    return call


aprovider_call_record = db_sync_to_async(provider_call_record)


def provider_calls_store(ledger: list[dict], *, user=None) -> None:
    """Store the ProviderCalls a caller collected (the router's `ledger`) in one INSERT; `user` for those whose
    caller did not know it."""
    # Plain SQL: a chat answer's final save stores its calls on the shared database thread.
    rows_inserted([provider_call_build(**{**fields, "user": fields.get("user") or user}) for fields in ledger])
