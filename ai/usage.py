"""Usage and cost: the nightly aggregation of ProviderCall into UsageDailySummary (an idempotent upsert) and
the reads behind the usage page and API."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from accounts.models import Workspace

from .models import ProviderCall, UsageDailySummary


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The UTC instants [start 00:00, the day after end 00:00) that the days start..end cover."""
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
BATCH_TABLE = "ai_usage_batch"


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
    low, high = day_bounds(start, end)
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


def _today_live(*, workspace: Workspace, today: date) -> list[UsageDailySummary]:
    """Today's rows straight from the call log, unsaved (the nightly job stores them): a read never writes."""
    low, high = day_bounds(today, today)
    grouped = (
        ProviderCall.objects.filter(workspace=workspace, created_at__gte=low, created_at__lt=high)
        .values("provider")
        .annotate(
            requests=Count("id"),
            successes=Count("id", filter=Q(status="ok")),
            tokens_in=Sum("tokens_in"),
            tokens_out=Sum("tokens_out"),
            cost=Sum("cost"),
            latency=Avg("latency_ms"),
        )
        .order_by("provider")
    )
    now = timezone.now()
    return [
        UsageDailySummary(
            workspace=workspace,
            provider=row["provider"],
            day=today,
            requests=row["requests"],
            successes=row["successes"],
            tokens_in=row["tokens_in"] or 0,
            tokens_out=row["tokens_out"] or 0,
            cost=Decimal(str(row["cost"] or 0)),
            avg_latency_ms=float(row["latency"] or 0),
            updated_at=now,
        )
        for row in grouped
    ]


def usage_daily_for_workspace(*, workspace: Workspace, start: date, end: date) -> list[UsageDailySummary]:
    """The workspace's daily rows in [start, end], by day and provider: the stored summaries, and today's
    calls counted live (so they show at once, without anything being written on a read)."""
    today = timezone.now().date()
    rows = list(
        UsageDailySummary.objects.filter(
            workspace=workspace, day__gte=start, day__lte=min(end, today - timedelta(days=1))
        ).order_by("day", "provider")
    )
    if start <= today <= end:
        rows += _today_live(workspace=workspace, today=today)
    return rows


# Usage of the call log grouped one way: key fields of each row per grouping.
BREAKDOWNS = {
    "provider": ("provider",),
    "model": ("provider", "model"),
    "feature": ("feature",),
    "user": ("user_id", "user__email", "user__first_name", "user__last_name"),
}


def _breakdown_key(by: str, row: dict) -> dict:
    if by == "user":
        name = " ".join(part for part in (row["user__first_name"], row["user__last_name"]) if part)
        return {
            "userId": row["user_id"],
            "email": row["user__email"] or "",
            "name": name or row["user__email"] or "No member (anonymous chat, scheduled work)",
        }
    if by == "feature":
        return {"feature": row["feature"], "featureLabel": ProviderCall.Feature(row["feature"]).label}
    return {field: row[field] for field in BREAKDOWNS[by]}


def usage_breakdown_for_workspace(
    *, workspace: Workspace, by: str = "provider", since: datetime | None = None, until: datetime | None = None
) -> list[dict]:
    """The workspace's calls in [since, until) grouped by provider, model, feature or member, most calls first:
    calls, tokens, cost, average latency, failures."""
    calls = ProviderCall.objects.filter(workspace=workspace)
    if since is not None:
        calls = calls.filter(created_at__gte=since)
    if until is not None:
        calls = calls.filter(created_at__lt=until)
    rows = (
        calls.values(*BREAKDOWNS[by])
        .annotate(
            calls=Count("id"),
            tokens_in=Sum("tokens_in"),
            tokens_out=Sum("tokens_out"),
            cost=Sum("cost"),
            latency=Avg("latency_ms"),
            errors=Count("id", filter=~Q(status__in=["ok", "cancelled"])),
        )
        .order_by("-calls", *BREAKDOWNS[by][:1])
    )
    return [
        _breakdown_key(by, row)
        | {
            "calls": row["calls"],
            "tokensIn": row["tokens_in"] or 0,
            "tokensOut": row["tokens_out"] or 0,
            "cost": str(Decimal(str(row["cost"] or 0)).quantize(Decimal("0.000001"))),
            "avgLatencyMs": round(row["latency"] or 0),
            "errors": row["errors"],
        }
        for row in rows
    ]


def usage_summary_for_workspace(*, workspace: Workspace, days: int = 30, by: str = "provider") -> list[dict]:
    """Usage over the last `days` days from the call log, grouped `by` provider, model, feature or member."""
    return usage_breakdown_for_workspace(workspace=workspace, by=by, since=timezone.now() - timedelta(days=days))
