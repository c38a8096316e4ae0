"""Usage and cost: the idempotent daily aggregation of the call log, the usage API and the usage page."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from ai.models import ProviderCall, UsageDailySummary
from ai.usage import usage_aggregate


def _call(workspace, provider, status, when, *, cost="0.010000", latency=100, tokens=(10, 20)):
    call = ProviderCall.objects.create(
        workspace=workspace,
        provider=provider,
        status=status,
        cost=Decimal(cost),
        latency_ms=latency,
        tokens_in=tokens[0],
        tokens_out=tokens[1],
    )
    ProviderCall.objects.filter(pk=call.pk).update(created_at=when)


def _summaries():
    return list(
        UsageDailySummary.objects.order_by("day", "provider").values(
            "workspace_id",
            "provider",
            "day",
            "requests",
            "successes",
            "tokens_in",
            "tokens_out",
            "cost",
            "avg_latency_ms",
        )
    )


@pytest.mark.django_db
def test_the_aggregation_run_twice_gives_the_same_summaries(workspace, other_workspace_user):
    day1 = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    day2 = day1 + timedelta(hours=1)
    _call(workspace, "openai", "ok", day1, latency=100)
    _call(workspace, "openai", "error", day1, latency=300, cost="0")
    _call(workspace, "openai", "ok", day2)
    _call(workspace, "freepik", "ok", day2, cost="0.050000", tokens=(0, 0))
    _call(other_workspace_user.current_workspace, "openai", "ok", day1)
    ProviderCall.objects.create(workspace=None, provider="local", status="ok")  # anonymous: no tenant

    usage_aggregate(start=day1.date(), end=day2.date())
    first = _summaries()
    usage_aggregate(start=day1.date(), end=day2.date())

    assert _summaries() == first
    mine = [row for row in first if row["workspace_id"] == workspace.pk]
    assert [(r["provider"], str(r["day"]), r["requests"], r["successes"]) for r in mine] == [
        ("openai", "2026-11-01", 2, 1),
        ("freepik", "2026-11-02", 1, 1),
        ("openai", "2026-11-02", 1, 1),
    ]
    assert mine[0]["cost"] == Decimal("0.010000")
    assert mine[0]["avg_latency_ms"] == 200.0
    assert mine[0]["tokens_in"] == 20 and mine[0]["tokens_out"] == 40
    assert len(first) == 4


@pytest.mark.django_db
def test_late_calls_update_the_summary_of_their_day(workspace):
    day = datetime(2026, 11, 1, 12, tzinfo=UTC)
    _call(workspace, "openai", "ok", day)
    first_written = usage_aggregate(start=day.date(), end=day.date())
    unchanged_written = usage_aggregate(start=day.date(), end=day.date())
    _call(workspace, "openai", "ok", day)
    late_written = usage_aggregate(start=day.date(), end=day.date())

    assert UsageDailySummary.objects.get().requests == 2
    assert (first_written, unchanged_written, late_written) == (1, 0, 1)


@pytest.mark.django_db
def test_usage_daily_api_reads_the_summaries_and_validates_dates(jwt_api_client, workspace, other_workspace_user):
    day = datetime(2026, 11, 1, 12, tzinfo=UTC)
    _call(workspace, "openai", "ok", day, cost="0.020000")
    _call(other_workspace_user.current_workspace, "openai", "ok", day, cost="9.000000")
    usage_aggregate(start=day.date(), end=day.date())

    response = jwt_api_client.get("/api/usage/daily?from=2026-11-01&to=2026-11-03")

    assert response.status_code == 200
    body = response.json()
    assert [(r["day"], r["provider"], r["requests"], r["cost"]) for r in body["results"]] == [
        ("2026-11-01", "openai", 1, "0.020000")
    ]
    assert body["totals"]["cost"] == "0.020000"
    assert jwt_api_client.get("/api/usage/daily?from=2026-11-05&to=2026-11-01").status_code == 400
    assert jwt_api_client.get("/api/usage/daily?from=yesterday").status_code == 400


@pytest.mark.django_db
def test_the_nightly_task_aggregates_recent_days(workspace):
    from ai.tasks import usage_aggregate_task

    ProviderCall.objects.create(workspace=workspace, provider="openai", status="ok")
    usage_aggregate_task.delay()
    assert UsageDailySummary.objects.get().requests == 1


@pytest.mark.django_db
def test_the_usage_page_refreshes_and_shows_costs(logged_in_client, workspace):
    ProviderCall.objects.create(workspace=workspace, provider="openai", status="ok", cost="0.123400", latency_ms=80)
    url = reverse("ai:usage")

    refreshed = logged_in_client.post(url)
    page = logged_in_client.get(refreshed.url)

    assert refreshed.status_code == 302
    assert UsageDailySummary.objects.get().requests == 1
    html = page.content.decode()
    assert "openai" in html and "$0.1234" in html
    assert logged_in_client.get(url, {"start": "2026-11-05", "end": "2026-11-01"}).status_code == 422


def test_todays_calls_show_on_the_usage_page_without_a_refresh(logged_in_client, workspace):
    ProviderCall.objects.create(workspace=workspace, provider="openai", status="ok", cost="0.500000", latency_ms=80)

    html = logged_in_client.get(reverse("ai:usage")).content.decode()

    assert "openai" in html and "$0.5000" in html
    assert 'class="chart time-chart"' in html  # one day of data is a chart, not a blank
