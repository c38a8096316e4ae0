"""Prometheus metrics (DESIGN §10), served at /metrics by monitoring.views.

Two kinds:
- Counted in the process (request latency and errors by route, events ingested, open websockets). Under gunicorn
  with PROMETHEUS_MULTIPROC_DIR set, prometheus_client keeps them in files shared by the workers and the scrape
  adds them up (gunicorn.conf.py marks dead workers); otherwise they are the serving process's own.
- Read from the database at scrape time (`DatabaseCollector`): AI provider calls, tokens and cost, the job queue,
  failed logins. Every process answers the same, whichever one is scraped.
"""

import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from .tally import minute_of, tally_add

PREFIX = "marketing_ai"
WINDOW = timedelta(minutes=5)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

http_requests = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by route name, method and status.",
    ["route", "method", "status"],
)
http_latency = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
events_ingested = Counter(
    f"{PREFIX}_events_ingested", "Events stored by the pipeline, by source type.", ["source_type"]
)
websocket_connections = Gauge(
    f"{PREFIX}_websocket_connections", "Open websocket connections.", multiprocess_mode="livesum"
)


def events_ingested_record(*, source_type: str, count: int) -> None:
    """Count stored events: the Prometheus counter of this process and the shared per-minute tally."""
    if count:
        events_ingested.labels(source_type).inc(count)
        tally_add(minute=minute_of(time.time()), field="events_ingested", amount=count)


class DatabaseCollector(Collector):
    """Gauges computed from the database when scraped; each is one indexed query."""

    def collect(self):
        from ai.models import ProviderCall
        from integrations.models import SyncJob

        now = timezone.now()
        recent = ProviderCall.objects.filter(created_at__gte=now - WINDOW)
        calls = GaugeMetricFamily(
            f"{PREFIX}_provider_calls_5m", "AI provider calls in the last 5 minutes.", labels=["provider", "status"]
        )
        tokens = GaugeMetricFamily(
            f"{PREFIX}_provider_tokens_5m", "AI tokens in the last 5 minutes.", labels=["provider", "direction"]
        )
        cost = GaugeMetricFamily(
            f"{PREFIX}_provider_cost_5m", "AI cost (USD) in the last 5 minutes.", labels=["provider"]
        )
        by_provider: dict[str, list[float]] = {}
        for row in recent.values("provider", "status").annotate(
            n=Count("id"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"), cost=Sum("cost")
        ):
            calls.add_metric([row["provider"], row["status"]], row["n"])
            totals = by_provider.setdefault(row["provider"], [0, 0, 0.0])
            totals[0] += row["tokens_in"] or 0
            totals[1] += row["tokens_out"] or 0
            totals[2] += float(row["cost"] or 0)
        for provider, (tokens_in, tokens_out, spent) in by_provider.items():
            tokens.add_metric([provider, "in"], tokens_in)
            tokens.add_metric([provider, "out"], tokens_out)
            cost.add_metric([provider], spent)
        yield from (calls, tokens, cost)

        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        spent_today = ProviderCall.objects.filter(created_at__gte=today).aggregate(total=Sum("cost"))["total"]
        yield GaugeMetricFamily(
            f"{PREFIX}_provider_cost_today", "AI cost (USD) since 00:00 UTC.", value=float(spent_today or 0)
        )

        jobs = SyncJob.objects.filter(status__in=[SyncJob.Status.QUEUED, SyncJob.Status.RUNNING]).aggregate(
            queued=Count("id", filter=Q(status=SyncJob.Status.QUEUED)),
            running=Count("id", filter=Q(status=SyncJob.Status.RUNNING)),
            oldest=Min("created_at", filter=Q(status=SyncJob.Status.QUEUED)),
        )
        yield GaugeMetricFamily(f"{PREFIX}_jobs_queued", "Jobs waiting for a worker.", value=jobs["queued"])
        yield GaugeMetricFamily(f"{PREFIX}_jobs_running", "Jobs a worker is running.", value=jobs["running"])
        age = (now - jobs["oldest"]).total_seconds() if jobs["oldest"] else 0
        yield GaugeMetricFamily(
            f"{PREFIX}_job_oldest_queued_age_seconds", "Age of the oldest queued job (0 when none).", value=age
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_failed_logins_5m",
            "Failed sign-ins in the last 5 minutes.",
            value=failed_logins_count(since=now - WINDOW),
        )


def failed_logins_count(*, since, until=None) -> int:
    from accounts.models import AuditEvent

    rows = AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN_FAILED, created_at__gte=since)
    return (rows.filter(created_at__lt=until) if until else rows).count()


def metrics_text() -> bytes:
    """The exposition text of every metric: the in-process ones (summed over gunicorn workers in multiprocess
    mode) and the database gauges."""
    if settings.PROMETHEUS_MULTIPROC_DIR:  # prometheus_client reads the same variable (from .env too)
        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    database_registry = CollectorRegistry()
    database_registry.register(DatabaseCollector())
    return generate_latest(process_registry) + generate_latest(database_registry)


class WebsocketCounter:
    """ASGI middleware around the websocket routes: counts a connection from its accept to its end."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        accepted = False

        async def counting_send(message):
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                websocket_connections.inc()
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if accepted:
                websocket_connections.dec()
