import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.metrics import rates
from campaigns.models import PerformanceMetric

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
