"""The staff monitoring page's content: time series of the stored samples, bucketed to about 60-72 points, and
the alerts. Views only render what this returns."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from marketing_ai.charts import time_chart

from .models import Alert
from .probes import readiness
from .sampling import series_for_page

BUCKET_MINUTES = {1: 1, 6: 5, 24: 20}
# Gauges (a level at each minute) take the bucket's highest value; counts are shown per minute (the bucket's
# total over its sampled minutes, so a bucket still filling is not drawn as a drop).
LEVELS = {"jobs_queued", "job_oldest_age_s"}


def _bucketed(page: dict, minutes: int) -> tuple[list[str], dict[str, list[float]]]:
    labels, buckets, keys, sampled = [], {name: [] for name in page["series"]}, [], []
    for index, minute in enumerate(page["minutes"]):
        key = minute.replace(minute=minute.minute - minute.minute % minutes)
        if not keys or keys[-1] != key:
            keys.append(key)
            labels.append(key.strftime("%H:%M"))
            sampled.append(0)
            for values in buckets.values():
                values.append(0.0)
        sampled[-1] += 1
        for name, values in page["series"].items():
            value = values[index]
            if name in LEVELS:
                buckets[name][-1] = max(buckets[name][-1], value)
            elif name == "http_latency_ms":  # weighted by the minute's requests; divided below
                buckets[name][-1] += value * page["series"]["http_requests"][index]
            else:
                buckets[name][-1] += value
    buckets["http_latency_ms"] = [
        total / requests if requests else 0
        for total, requests in zip(buckets["http_latency_ms"], buckets["http_requests"], strict=True)
    ]
    for name, values in buckets.items():
        if name not in LEVELS and name != "http_latency_ms":
            buckets[name] = [total / minutes for total, minutes in zip(values, sampled, strict=True)]
    return labels, buckets


def _charts(labels: list[str], series: dict[str, list[float]]) -> list[dict]:
    def money(value: float) -> str:
        return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"

    def chart(title: str, **kwargs) -> dict:
        return {"title": title, "chart": time_chart(labels=labels, title=title, **kwargs)}

    return [
        chart("Requests per minute", lines={"Requests": series["http_requests"], "5xx": series["http_errors"]}),
        chart("Average latency (ms)", lines={"Latency (ms)": series["http_latency_ms"]}),
        chart("Events ingested per minute", bars={"Events": series["events_ingested"]}),
        chart(
            "AI provider calls per minute",
            lines={"Calls": series["provider_calls"], "Failures": series["provider_failures"]},
        ),
        chart(
            "AI cost per minute (USD)",
            bars={"Cost": series["provider_cost"]},
            formats={"Cost": money},
            axis_format=money,
        ),
        chart("Job queue", lines={"Queued": series["jobs_queued"], "Oldest (s)": series["job_oldest_age_s"]}),
        chart("Failed sign-ins per minute", bars={"Failed": series["failed_logins"]}),
    ]


def monitoring_context(*, hours: int) -> dict:
    page = series_for_page(hours=hours)
    labels, series = _bucketed(page, BUCKET_MINUTES[hours])
    last_hour = timezone.now() - timedelta(hours=1)
    recent = series_for_page(hours=1)["series"]
    requests = sum(recent["http_requests"])
    return {
        "hours": hours,
        "hour_choices": list(BUCKET_MINUTES),
        "bucket_minutes": BUCKET_MINUTES[hours],
        "has_samples": bool(labels),
        "charts": _charts(labels, series) if labels else [],
        "checks": readiness(),
        "stats": {
            "requests": requests,
            "error_share": sum(recent["http_errors"]) / requests if requests else 0,
            "events": sum(recent["events_ingested"]),
            "cost": sum(recent["provider_cost"]),
        },
        "open_alerts": list(Alert.objects.filter(status=Alert.Status.OPEN).select_related("workspace")[:50]),
        "resolved_alerts": list(
            Alert.objects.filter(status=Alert.Status.RESOLVED, resolved_at__gte=last_hour - timedelta(days=1))[:20]
        ),
        "retention_days": settings.MONITORING_RETENTION_DAYS,
    }
