"""Usage logging (one ProviderCall row per attempt) and the per-workspace AI rate limit."""

import time
from decimal import Decimal

from django.conf import settings

from marketing_ai.caching import counter_incremented
from marketing_ai.db import db_sync_to_async
from marketing_ai.errors import RateLimited

from .base import Usage
from .pricing import cost_for

ERROR_MAX_LENGTH = 500
WINDOW_SECONDS = 60


def _provider_call(
    *,
    workspace=None,
    usage: Usage,
    purpose: str,
    status: str,
    latency_ms: int,
    error: str = "",
):
    from chat.models import ProviderCall

    return ProviderCall(
        workspace=workspace,
        provider=usage.provider[:32],
        model=(usage.model or "")[:100],
        purpose=(purpose or "")[:32],
        status=status,
        tokens_in=max(0, int(usage.tokens_in)),
        tokens_out=max(0, int(usage.tokens_out)),
        cost=cost_for(model=usage.model or "", tokens_in=usage.tokens_in, tokens_out=usage.tokens_out),
        latency_ms=max(0, int(latency_ms)),
        error=(error or "")[:ERROR_MAX_LENGTH],
    )


def provider_call_record(*, workspace=None, usage: Usage, purpose: str, status: str, latency_ms: int, error: str = ""):
    """Store one ProviderCall with its cost from the price table; the error text must already be secret-free."""
    call = _provider_call(
        workspace=workspace, usage=usage, purpose=purpose, status=status, latency_ms=latency_ms, error=error
    )
    call.save()
    return call


def provider_calls_store(ledger: list[dict]) -> None:
    """Store the ProviderCalls a caller collected (the router's `ledger`) in one INSERT."""
    from chat.models import ProviderCall

    if ledger:
        ProviderCall.objects.bulk_create([_provider_call(**fields) for fields in ledger])


aprovider_call_record = db_sync_to_async(provider_call_record)


def _rate_key(workspace_id, window: int) -> str:
    return f"ai-rate:{workspace_id}:{window}"


def ai_rate_limit_check(*, workspace=None, client_key: str = "") -> int:
    """Count one AI request for the workspace (or anonymous client) in this minute; raise RateLimited past the limit.

    Returns the number of requests counted in the current window. The counter lives in the cache
    (Redis when REDIS_URL is set), so every web process shares it.
    """
    limit = int(settings.AI_RATE_LIMIT_PER_MINUTE)
    if limit <= 0:
        return 0
    owner = workspace.pk if workspace is not None else f"anon-{client_key or 'all'}"
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = _rate_key(owner, window)
    count = counter_incremented(key, timeout=WINDOW_SECONDS * 2)
    if count > limit:
        retry_after = int((window + 1) * WINDOW_SECONDS - now) + 1
        raise RateLimited("Too many AI requests for this workspace; please wait a moment.", retry_after=retry_after)
    return count


aai_rate_limit_check = db_sync_to_async(ai_rate_limit_check)


def usage_summary_for_workspace(*, workspace, days: int = 30) -> list[dict]:
    """Per provider over the last `days` days: calls, tokens, cost, average latency and failed calls."""
    from datetime import timedelta

    from django.db.models import Avg, Count, Q, Sum
    from django.utils import timezone

    from chat.models import ProviderCall

    since = timezone.now() - timedelta(days=days)
    rows = (
        ProviderCall.objects.filter(workspace=workspace, created_at__gte=since)
        .values("provider")
        .annotate(
            calls=Count("id"),
            tokens_in=Sum("tokens_in"),
            tokens_out=Sum("tokens_out"),
            cost=Sum("cost"),
            latency=Avg("latency_ms"),
            errors=Count("id", filter=~Q(status__in=["ok", "cancelled"])),
        )
        .order_by("-calls", "provider")
    )
    return [
        {
            "provider": row["provider"],
            "calls": row["calls"],
            "tokensIn": row["tokens_in"] or 0,
            "tokensOut": row["tokens_out"] or 0,
            "cost": str(Decimal(str(row["cost"] or 0)).quantize(Decimal("0.000001"))),
            "avgLatencyMs": round(row["latency"] or 0),
            "errors": row["errors"],
        }
        for row in rows
    ]
