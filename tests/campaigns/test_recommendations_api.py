"""The recommendations API: generate (no data, one per segment, period validation), list, isolation."""

import pytest

from campaigns.models import CampaignRecommendation

from .test_recommendations import store_data

pytestmark = pytest.mark.django_db


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
