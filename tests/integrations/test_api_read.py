"""GET events / customers: newest first, filters, pagination, recent events, tenant isolation."""

import pytest

from integrations.adapters import gtm
from integrations.models import Customer, Event
from integrations.pipeline.runner import batch_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(gtm_source):
    items = [
        {"event": "page_view", "user_id": "u1", "timestamp": "2026-11-01T10:00:00Z"},
        {"event": "view_item", "user_id": "u1", "timestamp": "2026-11-02T10:00:00Z"},
        {
            "event": "purchase",
            "user_id": "u1",
            "timestamp": "2026-11-03T10:00:00Z",
            "ecommerce": {"transaction_id": "T1", "value": "20.00", "currency": "EUR"},
        },
        {"event": "page_view", "user_id": "u2", "timestamp": "2026-11-04T10:00:00Z"},
    ]
    batch_ingest(source=gtm_source, items=items, mapper=gtm.map_item)
    return gtm_source


def test_events_are_newest_first_and_paginated(jwt_api_client, stored, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        body = jwt_api_client.get("/api/events?pageSize=3").json()
    assert body["count"] == 4 and len(body["results"]) == 3 and body["next"]
    assert [e["eventType"] for e in body["results"]] == ["page_view", "purchase", "view_item"]
    assert body["results"][1]["value"] == "20.00" and body["results"][1]["customerKey"] == "u1"


def test_events_filter_by_source_type_customer_and_time(jwt_api_client, stored):
    def ids(query):
        return [e["eventType"] for e in jwt_api_client.get("/api/events?" + query).json()["results"]]

    assert ids("type=purchase") == ["purchase"]
    assert ids("customer=u2") == ["page_view"]
    assert ids("from=2026-11-02T00:00:00Z&to=2026-11-03T23:00:00Z") == ["purchase", "view_item"]
    assert ids(f"source={stored.id}&type=page_view") == ["page_view", "page_view"]
    bad = jwt_api_client.get("/api/events?from=yesterday")
    assert bad.status_code == 400 and "from" in bad.json()["errors"]
    assert jwt_api_client.get("/api/events?type=teleport").status_code == 400


def test_customers_list_and_detail_with_recent_events(jwt_api_client, stored):
    body = jwt_api_client.get("/api/customers").json()
    assert [c["customerKey"] for c in body["results"]] == ["u2", "u1"]
    u1 = Customer.objects.get(customer_key="u1")
    detail = jwt_api_client.get(f"/api/customers/{u1.id}").json()
    assert (detail["eventCount"], detail["purchaseCount"], detail["totalValue"]) == (3, 1, "20.00")
    assert [e["eventType"] for e in detail["recentEvents"]] == ["purchase", "view_item", "page_view"]


def test_another_workspace_sees_nothing_and_gets_404(other_jwt_api_client, stored):
    customer = Customer.objects.first()
    assert other_jwt_api_client.get("/api/events").json()["count"] == 0
    assert other_jwt_api_client.get(f"/api/events?source={stored.id}").status_code == 404
    assert other_jwt_api_client.get("/api/customers").json()["count"] == 0
    assert other_jwt_api_client.get(f"/api/customers/{customer.id}").status_code == 404
    assert Event.objects.count() == 4


def test_events_with_to_before_from_is_a_400(jwt_api_client):
    response = jwt_api_client.get("/api/events?from=2027-01-01&to=2026-01-01")
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400 and "to" in body["errors"]


def test_events_of_another_workspace_source_is_a_404(other_jwt_api_client, gtm_source):
    response = other_jwt_api_client.get(f"/api/events?source={gtm_source.id}")
    assert response.status_code == 404 and response.json()["statusCode"] == 404


def test_data_source_list_is_paginated_and_rejects_a_bad_page(jwt_api_client, gtm_source):
    body = jwt_api_client.get("/api/data-sources?pageSize=1").json()
    assert body["count"] == 1 and [s["id"] for s in body["results"]] == [gtm_source.id]
    response = jwt_api_client.get("/api/data-sources?page=-1")
    assert response.status_code == 404 and response.json()["message"] == "Invalid page."
