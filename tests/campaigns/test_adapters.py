from contextlib import contextmanager
from datetime import date

import pytest

from ai.models import ProviderCall, ProviderKey
from campaigns.adapters.images import campaign_image
from campaigns.adapters.insights import insights_fetch
from campaigns.metrics import metrics_sync_from_platform
from campaigns.models import PerformanceMetric
from campaigns.platforms import PLATFORMS

from .factories import CampaignFactory
from .fakes import FreepikHandler, InsightsHandler, serve

pytestmark = pytest.mark.django_db
PERIOD = {"since": date(2026, 11, 1), "until": date(2026, 11, 2)}


def _image(workspace, platform: str, *, title="Boots", query="boots", palette=()):
    return campaign_image(
        workspace=workspace,
        spec=PLATFORMS[platform],
        title=title,
        query=query,
        palette=list(palette),
        logo=None,
        logo_requirements={},
    )


@contextmanager
def _stock_api(settings, handler=FreepikHandler):
    with serve(handler) as (server, base):
        settings.IMAGE_API_URL = f"{base}/v1"
        settings.IMAGE_API_KEY = "test-key"
        yield server


@contextmanager
def _insights_api(settings):
    with serve(InsightsHandler) as (server, base):
        settings.PLATFORM_INSIGHTS_URL = base + "/{version}"
        yield server


def _meta_key(workspace, secret="meta-token"):
    ProviderKey.objects.create(workspace=workspace, provider="meta", secret=secret, last_four=secret[-4:])


def test_without_a_key_the_image_is_rendered_on_brand_offline(workspace, settings):
    settings.IMAGE_API_KEY = ""
    result = _image(workspace, "facebook", title="Autumn boots", palette=["#5B4BFF", "#141833"])

    assert result.source == "local-image"
    assert result.image.size == (1200, 628)
    assert result.image.getpixel((5, 5)) == (91, 75, 255)
    call = ProviderCall.objects.get()
    assert (call.provider, call.purpose, call.status) == ("local-image", "image", "ok")


def test_with_a_key_the_stock_api_is_searched_and_downloaded(workspace, settings):
    with _stock_api(settings) as server:
        result = _image(
            workspace, "instagram", title="Autumn boots", query="autumn boots", palette=["#5B4BFF", "#141833"]
        )

    assert result.source == "freepik"
    assert result.metadata["stock"] == {"stockId": "4242", "title": "Autumn boots on a path"}
    assert result.image.size == (1080, 1350)  # cropped to the platform's 4:5
    assert [path.split("?")[0] for path, _ in server.requests] == [
        "/v1/resources",
        "/v1/resources/4242/download",
        "/files/4242.jpg",
    ]
    assert {key for _, key in server.requests} == {"test-key"}
    assert list(ProviderCall.objects.values_list("provider", "purpose", "status")) == [("freepik", "image", "ok")] * 3


def test_a_failing_stock_api_falls_back_to_the_offline_render_and_logs_the_error(workspace, settings):
    class Down(FreepikHandler):
        status_override = 503

    with _stock_api(settings, Down):
        result = _image(workspace, "x")

    assert result.source == "local-image"
    assert "503" in result.metadata["fallbackReason"]
    assert list(ProviderCall.objects.order_by("id").values_list("provider", "status")) == [
        ("freepik", "error"),
        ("local-image", "ok"),
    ]


def test_the_rate_limit_is_checked_before_each_image_call(workspace, settings):
    settings.AI_RATE_LIMIT_PER_MINUTE = 2  # the stock flow needs three calls
    with _stock_api(settings) as server:
        result = _image(workspace, "x")

    assert len(server.requests) == 2
    assert result.source == "local-image"
    assert ProviderCall.objects.filter(provider="freepik", status="rate_limited").count() == 1


def test_insights_are_read_page_by_page_and_mapped(workspace, settings):
    _meta_key(workspace)
    with _insights_api(settings) as server:
        rows = insights_fetch(workspace=workspace, object_id="120330000", **PERIOD)

    assert server.requests[0][0] == "/v21.0/120330000/insights"
    assert server.requests[0][1]["time_increment"] == ["1"]
    assert rows[0] == {
        "date": "2026-11-01",
        "platform": "facebook",
        "impressions": 1000,
        "clicks": 50,
        "spend": "12.50",
        "likes": 30,
        "comments": 5,
        "shares": 5,
        "conversions": 4,
    }
    assert rows[1]["platform"] == "instagram"
    assert ProviderCall.objects.filter(provider="meta-insights", purpose="platform", status="ok").count() == 2


def test_platform_sync_stores_metrics_idempotently(workspace, user, settings):
    _meta_key(workspace)
    campaign = CampaignFactory(workspace=workspace, created_by=user, platform_campaign_id="120330000")
    with _insights_api(settings):
        first = metrics_sync_from_platform(campaign=campaign, user=user, **PERIOD)
        second = metrics_sync_from_platform(campaign=campaign, user=user, **PERIOD)

    assert first == {"created": 2, "updated": 0}
    assert second == {"created": 0, "updated": 2}
    assert PerformanceMetric.objects.filter(campaign=campaign).count() == 2


def test_a_rejected_token_is_a_provider_error(workspace, user, settings):
    from marketing_ai.errors import ProviderUnavailable

    _meta_key(workspace, secret="wrong")
    with _insights_api(settings), pytest.raises(ProviderUnavailable, match="400"):
        insights_fetch(workspace=workspace, object_id="1", **PERIOD)
    assert ProviderCall.objects.get().status == "error"


def test_an_insights_import_past_the_rate_limit_is_a_429_without_calling_the_api(
    jwt_api_client, workspace, user, settings
):
    settings.AI_RATE_LIMIT_PER_MINUTE = 1  # two pages need two calls
    _meta_key(workspace)
    campaign = CampaignFactory(workspace=workspace, created_by=user, platform_campaign_id="120330000")
    with _insights_api(settings) as server:
        response = jwt_api_client.post(
            f"/api/campaigns/{campaign.pk}/metrics",
            {"source": "platform", "since": "2026-11-01", "until": "2026-11-02"},
            format="json",
        )

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert len(server.requests) == 1
    assert not PerformanceMetric.objects.exists()
    assert ProviderCall.objects.filter(provider="meta-insights", status="rate_limited").count() == 1
