"""AI core endpoints: intent, recommendations (generate, list, isolation), usage, and the per-workspace rate limit."""

import pytest

from campaigns.models import CampaignRecommendation
from chat.models import ProviderCall
from chat.providers.base import Usage
from chat.providers.usage import ai_rate_limit_check, provider_call_record
from marketing_ai.errors import RateLimited
from tests.campaigns.test_recommendations import store_data

pytestmark = pytest.mark.django_db


def test_intent_endpoint_classifies_text(jwt_api_client):
    response = jwt_api_client.post("/api/ai/intent", {"text": "How many orders did I get last week?"})

    assert response.status_code == 200
    body = response.json()
    assert body["intent"] == "performance_question" and body["requiresAuth"] is True
    assert body["entities"]["dateRange"] == {"relative": "last_week"}


def test_intent_endpoint_rejects_empty_text_and_anonymous_callers(jwt_api_client, anonymous_api_client):
    assert jwt_api_client.post("/api/ai/intent", {"text": ""}).status_code == 400
    assert anonymous_api_client.post("/api/ai/intent", {"text": "hi"}).status_code == 401


def test_the_rate_limit_answers_429_with_retry_after(jwt_api_client, settings):
    settings.AI_RATE_LIMIT_PER_MINUTE = 2

    codes = [jwt_api_client.post("/api/ai/intent", {"text": "hi"}).status_code for _ in range(3)]
    response = jwt_api_client.post("/api/ai/intent", {"text": "hi"})

    assert codes == [200, 200, 429]
    assert response.status_code == 429 and response.json()["statusCode"] == 429
    assert 1 <= int(response["Retry-After"]) <= 61


def test_the_rate_limit_is_per_workspace(workspace, other_workspace_user, settings):
    settings.AI_RATE_LIMIT_PER_MINUTE = 1
    ai_rate_limit_check(workspace=workspace)

    with pytest.raises(RateLimited):
        ai_rate_limit_check(workspace=workspace)
    assert ai_rate_limit_check(workspace=other_workspace_user.current_workspace) == 1


def test_generate_without_sources_says_to_connect_them(jwt_api_client):
    response = jwt_api_client.post("/api/recommendations/generate")

    assert response.status_code == 200
    assert response.json() == {"type": "no_data_sources", "message": "Please connect data sources first"}


def test_generate_then_list_newest_first_and_paginated(jwt_api_client, workspace):
    store_data(workspace)

    generated = jwt_api_client.post("/api/recommendations/generate", {}, format="json")
    listed = jwt_api_client.get("/api/recommendations?pageSize=4")

    assert generated.status_code == 201 and len(generated.json()["recommendations"]) == 6
    body = listed.json()
    assert body["count"] == 6 and len(body["results"]) == 4 and body["next"]
    ids = [r["id"] for r in body["results"]]
    assert ids == sorted(ids, reverse=True)
    assert {"segment", "audienceSize", "rationale", "evidence", "kpiTargets"} <= set(body["results"][0])


def test_recommendations_of_another_workspace_are_invisible(jwt_api_client, other_jwt_api_client, workspace):
    source = store_data(workspace)
    jwt_api_client.post("/api/recommendations/generate")

    assert other_jwt_api_client.get("/api/recommendations").json()["count"] == 0
    foreign = other_jwt_api_client.post("/api/recommendations/generate", {"source": source.id}, format="json")
    assert foreign.status_code in (200, 404)  # no sources of its own -> no-data answer; never the other's data
    assert CampaignRecommendation.objects.exclude(workspace=workspace).count() == 0


def test_a_source_of_another_workspace_is_a_404(jwt_api_client, other_jwt_api_client, workspace, other_workspace_user):
    store_data(workspace)
    foreign_source = store_data(other_workspace_user.current_workspace)

    response = jwt_api_client.post("/api/recommendations/generate", {"source": foreign_source.id}, format="json")

    assert response.status_code == 404


def test_generate_validates_the_period(jwt_api_client, workspace):
    store_data(workspace)

    response = jwt_api_client.post(
        "/api/recommendations/generate", {"dateFrom": "2026-03-10", "dateTo": "2026-03-01"}, format="json"
    )

    assert response.status_code == 400 and "dateTo" in response.json()["errors"]


def test_usage_summarises_calls_per_provider(jwt_api_client, workspace, other_workspace_user):
    usage = Usage(provider="openai", model="gpt-4o-mini", tokens_in=1000, tokens_out=500)
    provider_call_record(workspace=workspace, usage=usage, purpose="chat", status="ok", latency_ms=200)
    provider_call_record(workspace=workspace, usage=usage, purpose="chat", status="timeout", latency_ms=400)
    provider_call_record(
        workspace=other_workspace_user.current_workspace, usage=usage, purpose="chat", status="ok", latency_ms=1
    )

    rows = jwt_api_client.get("/api/ai/usage").json()

    assert rows == [
        {
            "provider": "openai",
            "calls": 2,
            "tokensIn": 2000,
            "tokensOut": 1000,
            "cost": "0.000900",
            "avgLatencyMs": 300,
            "errors": 1,
        }
    ]
    assert ProviderCall.objects.count() == 3
