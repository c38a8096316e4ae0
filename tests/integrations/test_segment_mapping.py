"""Segment / RudderStack messages -> common records: the captured client requests and the spec's edge cases."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from integrations.adapters import segment
from integrations.pipeline.runner import items_map
from integrations.pipeline.schema import email_hash

CAPTURED = Path(settings.BASE_DIR).parent / "shared" / "fixtures" / "captured"
RECEIVED = datetime(2026, 12, 7, 0, 20, 12, tzinfo=UTC)


def captured(name: str) -> list[dict]:
    path = CAPTURED / name
    if not path.is_file():
        pytest.skip(f"captured requests not found at {path}")
    return json.loads(path.read_text())


def map_body(body, adapter=segment.BATCH, received_at=RECEIVED):
    return items_map(items=adapter.iter_items(body), mapper=adapter.map_item, received_at=received_at)


def captured_records(name: str) -> list:
    records = []
    for request in captured(name):
        assert request["path"] == "/v1/batch"
        result = map_body(request["body"])
        assert result.rejected == []
        records.extend(result.records)
    return records


def test_every_segment_library_request_maps_without_rejection():
    records = captured_records("segment-analytics-python-2.4.0__v1_batch.json")
    assert [(r.event_type, r.raw_name) for r in records] == [
        ("custom", "identify"),
        ("page_view", "page"),
        ("add_to_cart", "Product Added"),
        ("purchase", "Order Completed"),
        ("custom", "alias"),
    ]
    assert all(r.customer_key == "user-42" for r in records)


def test_segment_identify_carries_the_user_id_and_the_email_hashed_as_the_pipeline_does():
    identify = captured_records("segment-analytics-python-2.4.0__v1_batch.json")[0]
    assert identify.customer_key == "user-42"
    assert identify.email == "ada@example.com"
    assert identify.email_sha256 == email_hash("ada@example.com")
    assert identify.first_name == "Ada"
    assert identify.external_id == "msg:dd2b1b18-cbb0-440b-bb14-6c47ed0617a3"


def test_segment_alias_carries_the_previous_id_as_anonymous_id_beside_the_user_id():
    alias = captured_records("segment-analytics-python-2.4.0__v1_batch.json")[-1]
    assert (alias.anonymous_id, alias.customer_key) == ("anon-7", "user-42")


def test_segment_order_completed_is_a_purchase_with_revenue_currency_items_and_the_order_as_id():
    purchase = captured_records("segment-analytics-python-2.4.0__v1_batch.json")[3]
    assert purchase.external_id == "purchase:O-1001"
    assert (purchase.value, purchase.currency) == (Decimal("39.98"), "EUR")
    assert purchase.properties["items"] == [{"item_id": "SKU-1", "price": 19.99, "quantity": 2}]
    assert purchase.properties["order_id"] == "O-1001"


def test_segment_product_added_is_add_to_cart_valued_at_price_times_quantity():
    added = captured_records("segment-analytics-python-2.4.0__v1_batch.json")[2]
    assert (added.value, added.currency) == (Decimal("19.99"), "EUR")
    assert added.properties["items"] == [{"item_id": "SKU-1", "price": 19.99, "quantity": 1}]


def test_segment_page_keeps_its_name_category_and_url():
    page = captured_records("segment-analytics-python-2.4.0__v1_batch.json")[1]
    assert page.properties["name"] == "Install"
    assert page.properties["category"] == "Docs"
    assert page.properties["page_url"] == "https://shop.example/docs/install"


def test_every_rudderstack_library_request_maps_and_identify_reads_context_traits():
    viewed, identify = captured_records("rudder-sdk-python-2.1.9__v1_batch.json")
    assert (viewed.event_type, viewed.value, viewed.customer_key) == ("view_item", Decimal("9.50"), "user-43")
    assert identify.customer_key == "user-43"
    assert identify.email_sha256 == email_hash("bo@example.com")


def test_timestamp_is_corrected_for_the_clients_clock_skew():
    # The client's clock is 1 hour ahead: it stamped the event 5 s before it sent the batch.
    body = {
        "batch": [{"type": "track", "event": "Clicked", "userId": "u1", "timestamp": "2026-12-07T01:00:00Z"}],
        "sentAt": "2026-12-07T01:00:05Z",
    }
    record = map_body(body).records[0]
    assert record.occurred_at == RECEIVED - timedelta(seconds=5)


def test_a_timestamp_without_sent_at_is_taken_as_given_for_historical_imports():
    body = {"type": "track", "event": "Clicked", "userId": "u1", "timestamp": "2025-01-02T03:04:05Z"}
    record = map_body(body, adapter=segment.SINGLE["track"]).records[0]
    assert record.occurred_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_single_call_endpoints_take_the_call_type_from_the_path():
    record = map_body({"userId": "u1", "event": "Order Refunded"}, adapter=segment.SINGLE["track"]).records[0]
    assert (record.event_type, record.occurred_at) == ("refund", RECEIVED)


@pytest.mark.parametrize(
    ("name", "event_type"),
    [
        ("Products Searched", "search"),
        ("product_viewed", "view_item"),
        ("Product Removed", "remove_from_cart"),
        ("Checkout Started", "begin_checkout"),
        ("Payment Info Entered", "add_payment_info"),
        ("order completed", "purchase"),
        ("Order Refunded", "refund"),
        ("Signed Up", "sign_up"),
        ("Video Played", "custom"),
    ],
)
def test_ecommerce_spec_event_names_map_to_canonical_types_and_others_stay_custom(name, event_type):
    record = map_body({"userId": "u1", "event": name}, adapter=segment.SINGLE["track"]).records[0]
    assert (record.event_type, record.raw_name) == (event_type, name)


def test_custom_events_keep_their_scalar_properties():
    body = {"userId": "u1", "event": "Video Played", "properties": {"title": "Intro", "seconds": 12, "deep": {"a": 1}}}
    record = map_body(body, adapter=segment.SINGLE["track"]).records[0]
    assert record.properties["properties"] == {"title": "Intro", "seconds": 12}


def test_a_batch_shares_its_context_with_each_message():
    body = {"batch": [{"type": "page", "anonymousId": "a1"}], "context": {"page": {"url": "https://shop.example/"}}}
    record = map_body(body).records[0]
    assert (record.customer_key, record.anonymous_id) == ("", "a1")
    assert record.properties["page_url"] == "https://shop.example/"


def test_identify_without_user_id_keys_the_customer_by_hashed_email_beside_the_anonymous_id():
    body = {"anonymousId": "anon-9", "traits": {"email": " Cy@Example.com "}}
    record = map_body(body, adapter=segment.SINGLE["identify"]).records[0]
    assert record.customer_key == "email:" + email_hash("cy@example.com")
    assert record.anonymous_id == "anon-9"


def test_the_same_message_id_is_the_same_event():
    body = {"batch": [{"type": "track", "event": "Clicked", "userId": "u1", "messageId": "m-1"}] * 2}
    records = map_body(body).records
    assert {r.external_id for r in records} == {"msg:m-1"}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"type": "track", "event": "Clicked"}, "needs a userId or an anonymousId"),
        ({"type": "track", "userId": "u1"}, "needs an `event` name"),
        ({"type": "alias", "userId": "u1"}, "needs both userId and previousId"),
        ({"type": "explode", "userId": "u1"}, "type must be one of"),
        ({"type": "track", "event": "Order Completed", "userId": "u1", "properties": {"revenue": "lots"}}, "revenue"),
        ({"type": "track", "event": "X", "userId": "u1", "timestamp": "yesterday"}, "not a valid time"),
        ("not an object", "must be a JSON object"),
    ],
)
def test_bad_messages_are_rejected_with_their_reason_and_the_rest_of_the_batch_goes_on(message, reason):
    body = {"batch": [message, {"type": "track", "event": "Clicked", "userId": "u1"}]}
    result = map_body(body)
    assert len(result.records) == 1
    assert result.rejected[0]["index"] == 0
    assert reason in result.rejected[0]["reason"]


def test_a_body_that_is_not_a_batch_is_rejected_with_the_reason():
    result = map_body({"events": []})
    assert result.rejected == [{"index": 0, "reason": segment.NOT_A_BATCH}]
