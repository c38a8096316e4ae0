"""AI platform endpoints: intent, usage per provider, and the per-workspace rate limit."""

import pytest

from ai.calls import provider_call_record
from ai.models import ProviderCall
from ai.ratelimit import ai_rate_limit_check
from marketing_ai.errors import RateLimited

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


def test_usage_summarises_calls_per_provider(jwt_api_client, workspace, other_workspace_user):
    usage = {"provider": "openai", "model": "gpt-4o-mini", "tokens_in": 1000, "tokens_out": 500, "purpose": "chat"}
    provider_call_record(workspace=workspace, **usage, status="ok", latency_ms=200)
    provider_call_record(workspace=workspace, **usage, status="timeout", latency_ms=400)
    provider_call_record(workspace=other_workspace_user.current_workspace, **usage, status="ok", latency_ms=1)

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
