"""/metrics: Prometheus text with request counts by route name, AI calls and the job queue, for a scraper holding
METRICS_TOKEN or a staff member only."""

import re
from decimal import Decimal

import pytest

from ai.models import ProviderCall
from integrations.models import DataSource, SyncJob

pytestmark = pytest.mark.django_db
TOKEN = "scrape-secret-123"


@pytest.fixture
def scraper(client, settings):
    settings.METRICS_TOKEN = TOKEN
    return lambda: client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def _sample(text: str, name: str, **labels) -> float:
    """The value of one sample line; labels are matched whatever their order."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(key) == value for key, value in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} {labels} in the metrics")


def test_metrics_refuse_anonymous_callers_and_wrong_tokens(client, settings):
    settings.METRICS_TOKEN = TOKEN

    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    assert wrong.json()["statusCode"] == 401


def test_metrics_are_open_to_staff_but_not_to_a_workspace_owner(client, user, staff_user):
    client.force_login(user)
    assert client.get("/metrics").status_code == 401
    client.force_login(staff_user)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_requests_are_counted_by_route_name_not_by_path(scraper, jwt_api_client, workspace):
    source = DataSource.objects.create(workspace=workspace, source_type="gtm", name="Site")
    before = scraper().content.decode()
    baseline = _sample_or_zero(before, "marketing_ai_http_requests_total", route="integrations-api:source-detail")

    for _ in range(3):
        assert jwt_api_client.get(f"/api/data-sources/{source.id}").status_code == 200
    assert jwt_api_client.get("/api/data-sources/999999").status_code == 404

    text = scraper().content.decode()
    route = "integrations-api:source-detail"
    ok = _sample(text, "marketing_ai_http_requests_total", route=route, method="GET", status="200")
    assert ok - baseline == 3
    assert _sample(text, "marketing_ai_http_requests_total", route=route, method="GET", status="404") >= 1
    assert _sample(text, "marketing_ai_http_request_duration_seconds_count", route=route, method="GET") >= 4
    assert f"/api/data-sources/{source.id}" not in text


def _sample_or_zero(text: str, name: str, **labels) -> float:
    try:
        return _sample(text, name, method="GET", status="200", **labels)
    except AssertionError:
        return 0


def test_ai_calls_tokens_cost_and_the_job_queue_come_from_the_database(scraper, workspace):
    ProviderCall.objects.create(
        workspace=workspace, provider="openai", status="ok", tokens_in=120, tokens_out=30, cost=Decimal("0.0125")
    )
    ProviderCall.objects.create(workspace=workspace, provider="openai", status="timeout")
    source = DataSource.objects.create(workspace=workspace, source_type="shopify", name="Shop")
    SyncJob.objects.create(workspace=workspace, source=source, kind=SyncJob.Kind.SYNC)

    text = scraper().content.decode()

    assert _sample(text, "marketing_ai_provider_calls_5m", provider="openai", status="ok") == 1
    assert _sample(text, "marketing_ai_provider_calls_5m", provider="openai", status="timeout") == 1
    assert _sample(text, "marketing_ai_provider_tokens_5m", provider="openai", direction="in") == 120
    assert _sample(text, "marketing_ai_provider_cost_5m", provider="openai") == pytest.approx(0.0125)
    assert _sample(text, "marketing_ai_jobs_queued") == 1
    assert _sample(text, "marketing_ai_job_oldest_queued_age_seconds") >= 0
    assert "marketing_ai_websocket_connections" in text
