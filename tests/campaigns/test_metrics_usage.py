from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.metrics import rates
from campaigns.models import PerformanceMetric, UsageDailySummary
from campaigns.usage import usage_aggregate
from chat.models import ProviderCall

from .factories import CampaignFactory, scored_variant


def test_rates_are_zero_safe():
    assert rates({"impressions": 0, "likes": 0, "shares": 0, "comments": 0, "clicks": 0, "conversions": 0}) == {
        "engagementRate": 0.0,
        "ctr": 0.0,
        "conversionRate": 0.0,
    }
    assert rates({"impressions": 0, "likes": 5, "clicks": 3, "conversions": 1})["engagementRate"] == 0.0
    assert rates({"impressions": 100, "clicks": 0, "conversions": 2})["conversionRate"] == 0.0


def test_rates_follow_their_definitions():
    result = rates({"impressions": 1000, "likes": 30, "shares": 5, "comments": 5, "clicks": 50, "conversions": 4})
    assert result == {"engagementRate": 0.04, "ctr": 0.05, "conversionRate": 0.08}


@pytest.mark.django_db
def test_metrics_rows_then_series_and_rates(jwt_api_client, workspace, user):
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    variant = scored_variant(campaign=campaign, user=user)
    rows = [
        {
            "date": "2026-11-01",
            "platform": "instagram",
            "variantId": variant.pk,
            "impressions": 1000,
            "likes": 30,
            "shares": 5,
            "comments": 5,
            "clicks": 50,
            "conversions": 4,
            "spend": "10.00",
        },
        {"date": "2026-11-02", "platform": "instagram", "variantId": variant.pk, "impressions": 0, "spend": "0"},
    ]
    created = jwt_api_client.post(f"/api/campaigns/{campaign.pk}/metrics", {"rows": rows}, format="json")
    body = jwt_api_client.get(f"/api/campaigns/{campaign.pk}/metrics").json()

    assert created.status_code == 201 and created.json() == {"created": 2, "updated": 0}
    assert body["totals"]["engagementRate"] == 0.04
    assert body["totals"]["ctr"] == 0.05
    assert body["totals"]["conversionRate"] == 0.08
    assert body["totals"]["spend"] == "10.00"
    assert [(d["date"], d["ctr"]) for d in body["daily"]] == [("2026-11-01", 0.05), ("2026-11-02", 0.0)]
    assert body["variants"][0]["variantId"] == variant.pk


@pytest.mark.django_db
def test_a_csv_import_upserts_and_a_bad_row_writes_nothing(jwt_api_client, workspace, user):
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    good = "date,platform,impressions,clicks,conversions,spend\n2026-11-01,facebook,200,10,1,3.50\n"
    bad = good + "2026-11-02,facebook,-5,1,0,1\n"

    first = jwt_api_client.post(
        f"/api/campaigns/{campaign.pk}/metrics",
        {"file": SimpleUploadedFile("m.csv", good.encode())},
        format="multipart",
    )
    again = jwt_api_client.post(
        f"/api/campaigns/{campaign.pk}/metrics",
        {"file": SimpleUploadedFile("m.csv", good.encode())},
        format="multipart",
    )
    broken = jwt_api_client.post(
        f"/api/campaigns/{campaign.pk}/metrics", {"file": SimpleUploadedFile("m.csv", bad.encode())}, format="multipart"
    )

    assert first.json() == {"created": 1, "updated": 0}
    assert again.json() == {"created": 0, "updated": 1}
    assert broken.status_code == 400
    assert "rows[1]" in broken.json()["errors"]
    assert PerformanceMetric.objects.filter(campaign=campaign).count() == 1


@pytest.mark.django_db
def test_metrics_need_rows_a_file_or_the_platform(jwt_api_client, workspace, user):
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    assert jwt_api_client.post(f"/api/campaigns/{campaign.pk}/metrics", {}, format="json").status_code == 400


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
    from campaigns.tasks import usage_aggregate_task

    ProviderCall.objects.create(workspace=workspace, provider="openai", status="ok")
    usage_aggregate_task.delay()
    assert UsageDailySummary.objects.get().requests == 1
