"""Conversions API calls -> common records: the official SDK's captured request and Meta's documented batch."""

import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.adapters.meta_pixel import BAD_EVENT_JSON, NOT_A_CAPI_BODY, ConversionsApiCall
from integrations.pipeline.runner import items_map

FIXTURES = Path(settings.BASE_DIR).parent / "shared" / "fixtures"


def fixture(relative: str):
    path = FIXTURES / relative
    if not path.is_file():
        pytest.skip(f"fixture not found at {path}")
    return json.loads(path.read_text())


def map_payload(payload, call=None):
    call = call or ConversionsApiCall(pixel_id="123456789012345")
    return call, items_map(items=call.iter_items(payload), mapper=call.map_item, received_at=timezone.now())


def test_the_official_sdks_form_body_of_json_strings_maps_to_a_hashed_purchase():
    request = fixture("captured/facebook-business-26.0.3__capi_events.json")[0]
    form = parse_qs(request["rawBody"])
    _, result = map_payload({"data": form["data"][0]})
    assert result.rejected == []
    (purchase,) = result.records
    assert (purchase.event_type, purchase.external_id) == ("purchase", "Purchase:order-O-1001")
    assert (purchase.value, purchase.currency) == (Decimal("39.98"), "EUR")
    assert purchase.email_sha256 == "b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72"
    assert purchase.anonymous_id == "fb.1.1596403881668.1116446470"
    assert purchase.properties["items"] == [{"item_id": "SKU-1", "quantity": 2, "price": 19.99}]


def test_metas_documented_batch_maps_every_event_to_its_canonical_type():
    _, result = map_payload(fixture("documented/meta/capi_batch.json"))
    assert result.rejected == []
    assert [r.event_type for r in result.records] == [
        "page_view",
        "view_item",
        "add_to_cart",
        "begin_checkout",
        "purchase",
        "lead",
        "sign_up",
    ]


def test_a_test_event_code_checks_and_counts_the_events_without_storing_them():
    call, result = map_payload(
        {"data": [{"event_name": "Purchase", "event_time": 1796600000}], "test_event_code": "T1"}
    )
    assert (result.records, result.rejected, call.test_event_code) == ([], [], "T1")
    assert len(call.events) == 1


def test_bad_entries_are_rejected_with_their_index_and_reason():
    payload = {"data": ["{not json", {"event_time": 1}, {"event_name": "Lead", "event_time": 1796600000}]}
    _, result = map_payload(payload)
    assert [r["index"] for r in result.rejected] == [0, 1]
    assert result.rejected[0]["reason"] == BAD_EVENT_JSON
    assert len(result.records) == 1


def test_a_body_without_a_data_array_is_one_rejection():
    _, result = map_payload({"events": []})
    assert result.rejected == [{"index": 0, "reason": NOT_A_CAPI_BODY}]
