"""The pipeline stores each event once, lists every rejection, and keeps customer totals exact on re-delivery."""

from decimal import Decimal

import pytest
from django.db import connection

from integrations.adapters import gtm
from integrations.models import Customer, Event
from integrations.pipeline.runner import batch_ingest

pytestmark = pytest.mark.django_db


def purchase(transaction_id: str, user: str, value: str = "30.00") -> dict:
    return {
        "event": "purchase",
        "user_id": user,
        "timestamp": "2026-11-01T12:00:00Z",
        "ecommerce": {"transaction_id": transaction_id, "value": value, "currency": "EUR", "items": []},
    }


def view(user: str, at: str) -> dict:
    return {"event": "page_view", "user_id": user, "timestamp": at, "page_location": "https://shop.test/"}


def test_a_batch_with_bad_events_stores_the_good_ones_and_lists_each_rejection(gtm_source):
    items = [
        purchase("T-1", "u1"),
        {"event": "purchase", "user_id": "u1", "ecommerce": {"value": 10}},  # no transaction id
        "not an object",
        view("u2", "2026-11-01T10:00:00Z"),
        {"event": "add_to_cart", "value": "abc", "user_id": "u2"},
        {"event": "page_view", "timestamp": "yesterday-ish"},
        {"event": "gtm.dom"},
    ]
    result, inserted = batch_ingest(source=gtm_source, items=items, mapper=gtm.map_item)

    assert result.accepted == 2 and inserted == 2
    assert [r["index"] for r in result.rejected] == [1, 2, 4, 5, 6]
    reasons = {r["index"]: r["reason"] for r in result.rejected}
    assert "transaction_id" in reasons[1] and "number" in reasons[4] and "not a valid time" in reasons[5]
    assert "gtm.dom" in reasons[6]
    assert set(Event.objects.values_list("event_type", flat=True)) == {"purchase", "page_view"}


def test_the_same_input_twice_leaves_the_same_rows_and_customer_totals(gtm_source):
    items = [
        purchase("T-1", "u1", "30.00"),
        purchase("T-2", "u1", "12.50"),
        view("u1", "2026-10-01T10:00:00Z"),
        view("u2", "2026-11-02T10:00:00Z"),
    ]
    batch_ingest(source=gtm_source, items=items, mapper=gtm.map_item)
    before = list(Customer.objects.order_by("customer_key").values())

    result, inserted = batch_ingest(source=gtm_source, items=items, mapper=gtm.map_item)

    assert result.accepted == 4 and inserted == 0
    assert Event.objects.count() == 4
    after = list(Customer.objects.order_by("customer_key").values())
    for row in before + after:
        row.pop("updated_at")
    assert after == before
    u1 = Customer.objects.get(customer_key="u1")
    assert (u1.event_count, u1.purchase_count, u1.total_value) == (3, 2, Decimal("42.50"))
    assert u1.first_seen_at.month == 10 and u1.last_seen_at.month == 11


def test_duplicates_inside_one_batch_are_stored_once(gtm_source):
    result, inserted = batch_ingest(source=gtm_source, items=[purchase("T-9", "u9")] * 3, mapper=gtm.map_item)
    assert inserted == 1 and Event.objects.count() == 1
    assert Customer.objects.get(customer_key="u9").purchase_count == 1


def test_customer_email_and_its_hash_are_kept_from_the_events(gtm_source):
    push = purchase("T-5", "u5")
    push["user_data"] = {"email_address": " Ada@Example.COM "}
    batch_ingest(source=gtm_source, items=[push], mapper=gtm.map_item)
    customer = Customer.objects.get(customer_key="u5")
    assert customer.email == "ada@example.com"
    import hashlib

    assert customer.email_sha256 == hashlib.sha256(b"ada@example.com").hexdigest()


def test_the_store_path_matches_the_database(gtm_source, django_assert_max_num_queries):
    """PostgreSQL goes through COPY + one statement (keys ON CONFLICT DO NOTHING, then events); SQLite through
    batched inserts."""
    items = [view(f"u{n}", f"2026-11-01T10:{n:02d}:00Z") for n in range(50)]
    limit = 12 if connection.vendor == "postgresql" else 23  # SQLite: stitching and the day sets separate statements
    with django_assert_max_num_queries(limit) as captured:
        batch_ingest(source=gtm_source, items=items, mapper=gtm.map_item)
    sql = " ".join(query["sql"] for query in captured.captured_queries)
    if connection.vendor == "postgresql":
        assert "INSERT INTO integrations_eventkey" in sql and "ON CONFLICT DO NOTHING" in sql
    assert Event.objects.count() == 50 and Customer.objects.count() == 50


def test_text_with_tabs_newlines_and_backslashes_is_stored_as_sent_and_nul_dropped(gtm_source):
    """The COPY text is built by hand on PostgreSQL: the characters that format gives a meaning must round-trip."""
    tricky = 'Tab\there, line\nbreak\r, back\\slash \\N "quoted" ü'
    push = view(f"user\t{tricky}", "2026-11-01T10:00:00Z")
    push.update(page_title=tricky, session_id="s\\1\n", client_id="c\x00id", event_id=f"id\\{tricky}")
    push["search_term"] = "a\x00"
    plain = view("u-plain", "2026-11-01T11:00:00Z")

    result, inserted = batch_ingest(source=gtm_source, items=[push, plain], mapper=gtm.map_item)

    assert inserted == 2 and not result.rejected
    event = Event.objects.get(customer_key=f"user\t{tricky}")
    assert event.properties["page_title"] == tricky
    assert event.external_id == f"page_view:id\\{tricky}"
    assert event.session_id == "s\\1\n"
    assert event.anonymous_id == "cid"  # NUL is dropped on every database (PostgreSQL cannot hold it)
    assert event.properties["search_term"] == "a"
    assert event.value is None and Event.objects.get(customer_key="u-plain").session_id == ""


def test_a_csv_header_with_nul_or_a_lone_surrogate_is_stored_cleaned(gtm_source):
    from integrations.adapters import csv as csv_adapter

    row = {"order_id": "A-1", "date": "2026-11-01T10:00:00Z", "note\x00\ud83d": "gift \udfff wrap"}
    mapper = csv_adapter.make_mapper({"external_id": "order_id", "occurred_at": "date"})

    result, inserted = batch_ingest(source=gtm_source, items=[row], mapper=mapper)

    assert inserted == 1 and not result.rejected
    assert Event.objects.get().properties["row"]["note\ufffd"] == "gift \ufffd wrap"


def test_deleting_a_source_recomputes_the_customers_it_touched(gtm_source, workspace, jwt_api_client):
    from integrations.models import DataSource

    other = DataSource.objects.create(workspace=workspace, source_type="gtm", name="Other site", config={})
    batch_ingest(
        source=gtm_source, items=[purchase("T-1", "shared"), purchase("T-2", "only-here")], mapper=gtm.map_item
    )
    batch_ingest(source=other, items=[purchase("T-3", "shared", value="5.00")], mapper=gtm.map_item)

    response = jwt_api_client.delete(f"/api/data-sources/{gtm_source.id}")

    assert response.status_code == 204
    shared = Customer.objects.get(customer_key="shared")
    assert (shared.event_count, shared.purchase_count, shared.total_value) == (1, 1, Decimal("5.00"))
    assert not Customer.objects.filter(customer_key="only-here").exists()
