"""Every provider payload in ../shared/fixtures (real and documented) goes through our mappers."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.adapters import gtm, meta_pixel, shopify
from integrations.pipeline.runner import items_map

FIXTURES = Path(settings.BASE_DIR).parent / "shared" / "fixtures"
ADAPTERS = {"ga4": gtm, "meta": meta_pixel, "shopify": shopify}


def fixture_files() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(path for path in FIXTURES.glob("*/*/*.json"))


def map_file(path: Path):
    adapter = ADAPTERS[path.parent.name]
    payload = json.loads(path.read_text())
    return items_map(items=adapter.iter_items(payload), mapper=adapter.map_item, received_at=timezone.now())


@pytest.fixture(autouse=True)
def _fixtures_present():
    if not FIXTURES.is_dir():
        pytest.skip(f"provider fixtures not found at {FIXTURES}")


def test_the_fixture_folder_holds_both_real_and_documented_payloads():
    kinds = {path.parent.parent.name for path in fixture_files()}
    assert kinds == {"real", "documented"}


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.name}")
def test_every_fixture_maps_to_common_events(path):
    result = map_file(path)
    assert result.records, f"{path.name} produced no events"
    for record in result.records:
        assert record.external_id and record.occurred_at.tzinfo is not None
    # the only rejection we accept in a fixture is GTM's own internal push
    assert all("gtm.js" in rejected["reason"] for rejected in result.rejected), result.rejected


def _one(name: str):
    paths = [path for path in fixture_files() if path.name == name]
    assert paths, name
    return map_file(paths[0])


def test_shopify_docs_order_maps_to_a_purchase_with_decimal_money_and_its_refund():
    records = _one("monei-shopify-api-node__order_res_list.json").records
    purchase = next(r for r in records if r.event_type == "purchase")
    assert purchase.external_id == "order:450789469"
    assert purchase.value == Decimal("409.94") and purchase.currency == "USD"
    assert purchase.customer_key == "207119551"
    assert purchase.email == "bob.norman@hostmail.com" and len(purchase.email_sha256) == 64
    assert len(purchase.properties["items"]) == 3
    assert any(r.event_type == "refund" for r in records)


def test_a_cancelled_shopify_order_is_not_counted_as_a_purchase():
    records = _one("go-shopify__orders.json").records
    order = next(r for r in records if r.external_id.startswith("order:"))
    assert order.event_type == "custom" and order.raw_name == "order_cancelled"


def test_hookdeck_webhook_captures_map_per_topic():
    order = _one("hookdeck__2024-10__orders.create.json").records[0]
    # both captures are voided test orders: kept as order_cancelled, never as revenue
    assert order.external_id.startswith("order:") and order.properties["topic"] == "orders/create"
    assert order.event_type == "custom" and order.value == Decimal("388.00")
    cad = _one("hookdeck__2023-01__orders.create.json").records[0]
    assert cad.currency == "CAD"
    customer = _one("hookdeck__2024-10__customers.create.json").records[0]
    assert customer.event_type == "sign_up" and customer.external_id.startswith("customer:")


def test_shopify_customer_list_maps_to_sign_up_with_name():
    record = _one("monei-shopify-api-node__customer_res_list.json").records[0]
    assert (record.customer_key, record.first_name, record.last_name) == ("207119551", "Bob", "Norman")


def test_flattened_ga4_purchase_uses_the_transaction_id():
    record = _one("ga4-datalayer-as-code__purchase.json").records[0]
    assert record.event_type == "purchase" and record.external_id.startswith("purchase:")
    assert record.value is not None and record.currency


def test_flattened_ga4_add_to_cart_keeps_user_and_items():
    record = _one("ga4-datalayer-as-code__add_to_cart.json").records[0]
    assert record.event_type == "add_to_cart" and record.customer_key == "crm_12345"
    assert record.value == Decimal("129.99") and record.properties["items"][0]["item_id"] == "sku_1"


def test_wrapped_datalayer_skips_clears_and_rejects_the_gtm_internal_push():
    result = _one("datalayer_ecommerce_wrapped.json")
    types = [r.event_type for r in result.records]
    assert types == ["page_view", "view_item", "add_to_cart", "purchase", "custom"]
    assert result.records[-1].raw_name == "newsletter_signup"
    assert len(result.rejected) == 1 and "gtm.js" in result.rejected[0]["reason"]
    assert result.records[3].external_id == "purchase:T-90018" and result.records[3].currency == "GBP"


def test_measurement_protocol_session_maps_each_event_with_its_time_and_ids():
    result = _one("measurement_protocol_session.json")
    assert [r.event_type for r in result.records][:5] == [
        "page_view",
        "view_item",
        "add_to_cart",
        "begin_checkout",
        "purchase",
    ]
    first = result.records[0]
    assert first.customer_key == "cust-2001" and first.anonymous_id == "1763600000.1234567"
    assert first.occurred_at.year == 2025 and first.session_id == "1763700000"


def test_conversions_api_batch_keeps_identifiers_hashed():
    result = _one("capi_batch.json")
    by_name = {r.raw_name: r for r in result.records}
    assert {
        "PageView",
        "ViewContent",
        "AddToCart",
        "InitiateCheckout",
        "Purchase",
        "Lead",
        "CompleteRegistration",
    } <= set(by_name)
    assert by_name["InitiateCheckout"].event_type == "begin_checkout"
    assert by_name["CompleteRegistration"].event_type == "sign_up"
    purchase = by_name["Purchase"]
    assert purchase.external_id.startswith("Purchase:") and purchase.value is not None
    for record in result.records:
        assert "@" not in record.customer_key and record.email == ""
    assert by_name["ViewContent"].email_sha256 == "10ef04a5a1acd81d18a0c61fdd354a063da07223720a1d8760aa5c2afa5e8ee0"
