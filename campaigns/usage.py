"""API usage: the rate-limit check before each external call, the usage log rows of our adapters,
and the nightly aggregation of ProviderCall into UsageDailySummary (an idempotent upsert)."""

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Workspace
from chat.models import ProviderCall
from marketing_ai.caching import counter_incremented
from marketing_ai.errors import RateLimited

from .models import UsageDailySummary

WINDOW_SECONDS = 60


def rate_limit_check(*, workspace: Workspace | None, provider: str, limit: int | None = None) -> int:
    """Count one call to `provider` for the workspace in this minute; RateLimited past the limit."""
    limit = settings.AI_RATE_LIMIT_PER_MINUTE if limit is None else limit
    if limit <= 0:
        return 0
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"campaigns-rate:{provider}:{workspace.pk if workspace else 'none'}:{window}"
    count = counter_incremented(key, timeout=WINDOW_SECONDS * 2)
    if count > limit:
        raise RateLimited(
            f"Too many {provider} requests for this workspace; please wait a moment.",
            retry_after=int((window + 1) * WINDOW_SECONDS - now) + 1,
        )
    return count


def provider_call_log(
    *,
    workspace: Workspace | None,
    provider: str,
    purpose: str,
    status: str,
    started: float,
    model: str = "",
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost: Decimal = Decimal("0"),
    error: str = "",
) -> ProviderCall:
    """Append one usage-log row for a call that began at `started` (time.monotonic())."""
    return ProviderCall.objects.create(
        workspace=workspace,
        provider=provider[:32],
        model=model[:100],
        purpose=purpose[:32],
        status=status,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost,
        latency_ms=max(0, int((time.monotonic() - started) * 1000)),
        error=error[:500],
    )


def _day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    low = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    high = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return low, high


GROUPED_SQL = """
SELECT workspace_id, provider, {day} AS day, COUNT(*) AS requests,
       COUNT(*) FILTER (WHERE status = 'ok') AS successes, SUM(tokens_in) AS tokens_in,
       SUM(tokens_out) AS tokens_out, SUM(cost) AS cost, SUM(latency_ms) AS latency_ms
FROM {calls}
WHERE workspace_id IS NOT NULL AND created_at >= %s AND created_at < %s {workspace_filter}
GROUP BY workspace_id, provider, {day}
"""
UPSERT_SQL = """
INSERT INTO {summary} (workspace_id, provider, day, requests, successes, tokens_in, tokens_out, cost,
                       avg_latency_ms, updated_at)
SELECT workspace_id, provider, day, requests, successes, tokens_in, tokens_out, cost,
       CAST(latency_ms AS DOUBLE PRECISION) / requests, %s
FROM ({source}) AS grouped
WHERE true
ON CONFLICT (workspace_id, provider, day) DO UPDATE SET
    requests = excluded.requests, successes = excluded.successes, tokens_in = excluded.tokens_in,
    tokens_out = excluded.tokens_out, cost = excluded.cost, avg_latency_ms = excluded.avg_latency_ms,
    updated_at = excluded.updated_at
-- A rerun over days that did not change rewrites nothing (no dead tuples, no index churn).
WHERE ({summary}.requests, {summary}.successes, {summary}.tokens_in, {summary}.tokens_out, {summary}.cost,
       {summary}.avg_latency_ms)
      IS DISTINCT FROM (excluded.requests, excluded.successes, excluded.tokens_in, excluded.tokens_out,
                        excluded.cost, excluded.avg_latency_ms)
"""
BATCH_TABLE = "campaigns_usage_batch"


def usage_aggregate(*, start: date, end: date, workspace: Workspace | None = None) -> int:
    """Rebuild the daily summaries of [start, end] from ProviderCall with one GROUP BY and an upsert; safe to rerun.

    Calls without a workspace (anonymous chat) belong to no tenant and are not summarised.
    Returns the number of summary rows written: new or changed ones (a rerun over unchanged days writes none).
    """
    postgres = connection.vendor == "postgresql"
    grouped = GROUPED_SQL.format(
        calls=ProviderCall._meta.db_table,
        day="(created_at AT TIME ZONE 'UTC')::date" if postgres else "date(created_at)",
        workspace_filter="AND workspace_id = %s" if workspace is not None else "",
    )
    low, high = _day_bounds(start, end)
    adapt = connection.ops.adapt_datetimefield_value
    group_params = [adapt(low), adapt(high)] + ([workspace.pk] if workspace is not None else [])
    now = adapt(timezone.now())
    summary = UsageDailySummary._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if not postgres:
            cursor.execute(UPSERT_SQL.format(summary=summary, source=grouped), [now, *group_params])
            return cursor.rowcount
        # PostgreSQL never runs the SELECT of an INSERT in parallel; CREATE TABLE AS may, so the GROUP BY
        # fills a temporary table with parallel workers and the upsert then reads a few thousand rows.
        cursor.execute(f"DROP TABLE IF EXISTS {BATCH_TABLE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {BATCH_TABLE} ON COMMIT DROP AS {grouped}", group_params)
        cursor.execute(UPSERT_SQL.format(summary=summary, source=f"SELECT * FROM {BATCH_TABLE}"), [now])
        written = cursor.rowcount
        cursor.execute(f"DROP TABLE {BATCH_TABLE}")
        return written


def usage_aggregate_recent(*, days: int = 2) -> int:
    """The nightly job: re-aggregate yesterday and today (late rows of yesterday are picked up)."""
    today = timezone.now().date()
    return usage_aggregate(start=today - timedelta(days=days - 1), end=today)


def usage_totals(rows) -> dict:
    """Totals over summary rows, zero-safe."""
    requests = sum(r.requests for r in rows)
    successes = sum(r.successes for r in rows)
    latency = sum(r.avg_latency_ms * r.requests for r in rows)
    return {
        "requests": requests,
        "successes": successes,
        "successRate": round(successes / requests, 4) if requests else 0.0,
        "tokensIn": sum(r.tokens_in for r in rows),
        "tokensOut": sum(r.tokens_out for r in rows),
        "cost": sum((Decimal(r.cost) for r in rows), Decimal("0")),
        "avgLatencyMs": round(latency / requests, 1) if requests else 0.0,
    }
