"""Each minute (beat: monitoring.tasks.monitoring_minute_task) the previous minute's figures become MetricSample
rows: the shared HTTP and ingest tallies (monitoring.tally) and what the database says (AI calls, the job queue,
failed logins). Samples older than MONITORING_RETENTION_DAYS are deleted on the way."""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from .metrics import failed_logins_count
from .models import MetricSample
from .tally import HTTP_FIELDS, http_tally, tally_read

# name -> how the page shows it
SERIES = {
    "http_requests": "Requests",
    "http_errors": "Server errors (5xx)",
    "http_latency_ms": "Average latency (ms)",
    "events_ingested": "Events ingested",
    "provider_calls": "AI provider calls",
    "provider_failures": "AI provider failures",
    "provider_tokens": "AI tokens",
    "provider_cost": "AI cost (USD)",
    "jobs_queued": "Jobs queued",
    "job_oldest_age_s": "Oldest queued job (s)",
    "failed_logins": "Failed sign-ins",
}


def minute_start(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _database_figures(start: datetime, end: datetime) -> dict[str, float]:
    from ai.models import ProviderCall
    from integrations.models import SyncJob

    calls = ProviderCall.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        calls=Count("id"),
        failures=Count("id", filter=~Q(status__in=[ProviderCall.Status.OK, ProviderCall.Status.CANCELLED])),
        tokens_in=Sum("tokens_in"),
        tokens_out=Sum("tokens_out"),
        cost=Sum("cost"),
    )
    queue = SyncJob.objects.filter(status=SyncJob.Status.QUEUED).aggregate(n=Count("id"), oldest=Min("created_at"))
    return {
        "provider_calls": calls["calls"],
        "provider_failures": calls["failures"],
        "provider_tokens": (calls["tokens_in"] or 0) + (calls["tokens_out"] or 0),
        "provider_cost": float(calls["cost"] or 0),
        "jobs_queued": queue["n"],
        "job_oldest_age_s": (end - queue["oldest"]).total_seconds() if queue["oldest"] else 0,
        "failed_logins": failed_logins_count(since=start, until=end),
    }


def samples_take(*, now: datetime | None = None) -> dict[str, float]:
    """Store the figures of the minute before `now` (idempotent: a rerun overwrites that minute); returns them."""
    now = now or timezone.now()
    end = minute_start(now)
    start = end - timedelta(minutes=1)
    http_tally.flush()  # this process's own pending counts (a worker's are usually none)
    minute = int(start.astimezone(UTC).timestamp() // 60)
    shared = tally_read(minute=minute, fields=(*HTTP_FIELDS, "events_ingested"))
    figures = {
        "http_requests": shared["http_requests"],
        "http_errors": shared["http_errors"],
        "http_latency_ms": shared["http_latency_ms"] / shared["http_requests"] if shared["http_requests"] else 0,
        "events_ingested": shared["events_ingested"],
        **_database_figures(start, end),
    }
    with transaction.atomic():
        for name, value in figures.items():
            MetricSample.objects.update_or_create(minute=start, name=name, defaults={"value": value})
        MetricSample.objects.filter(minute__lt=now - timedelta(days=settings.MONITORING_RETENTION_DAYS)).delete()
    return figures


def series_for_page(*, hours: int, now: datetime | None = None) -> dict:
    """{"labels": ["14:05", ...], "series": {name: [values]}} over the last `hours`, one point per minute with a
    sample (minutes without one are left out, not drawn as zero)."""
    now = now or timezone.now()
    rows = MetricSample.objects.filter(minute__gte=now - timedelta(hours=hours)).order_by("minute")
    by_minute: dict[datetime, dict[str, float]] = {}
    for row in rows.values_list("minute", "name", "value"):
        by_minute.setdefault(row[0], {})[row[1]] = row[2]
    labels = [minute.strftime("%H:%M") for minute in by_minute]
    series = {name: [values.get(name, 0) for values in by_minute.values()] for name in SERIES}
    return {"labels": labels, "series": series, "minutes": list(by_minute)}
