"""The official Segment, RudderStack and Meta SDKs, pointed at the app served over real sockets, deliver events
that appear in events, customers and segments (the SDKs are pinned test dependencies)."""

import hashlib

import pytest

from integrations.models import Customer, DataSource, Event
from tests.conftest import api_client_for
from tests.e2e.conftest import live_asgi_server  # noqa: F401 (pytest fixture: the ASGI app on a real port)

PIXEL = "123456789012345"


@pytest.fixture
def sources(workspace):
    segment = DataSource.objects.create(workspace=workspace, source_type="segment", name="Segment")
    pixel = DataSource.objects.create(
        workspace=workspace, source_type="facebook_pixel", name="Pixel", config={"pixelId": PIXEL}
    )
    return segment, pixel


def segment_members(user, name: str, settings) -> set[str]:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the live server narrowed them
    response = api_client_for(user).get(f"/api/analytics/segments/{name}/customers")
    return {member["customerKey"] for member in response.json()["results"]}


def test_segments_python_library_delivers_identify_page_track_and_alias(live_asgi_server, sources, user, settings):  # noqa: F811
    from segment.analytics import Client

    segment, _ = sources
    client = Client(write_key=segment.write_key, host=live_asgi_server, sync_mode=True, max_retries=0)
    client.identify("user-42", {"email": "ada@example.com", "firstName": "Ada"})
    client.page("user-42", "Docs", "Install", {"url": "https://shop.example/docs/install"})
    client.track("user-42", "Product Added", {"product_id": "SKU-1", "price": 19.99, "quantity": 1, "currency": "EUR"})
    products = [{"product_id": "SKU-1", "price": 19.99, "quantity": 2}]
    client.track(
        "user-42", "Order Completed", {"order_id": "O-1001", "revenue": 39.98, "currency": "EUR", "products": products}
    )
    client.alias("anon-7", "user-42")

    types = list(Event.objects.filter(source=segment).order_by("occurred_at").values_list("event_type", flat=True))
    assert types == ["custom", "page_view", "add_to_cart", "purchase", "custom"]
    customer = Customer.objects.get(customer_key="user-42")
    assert (customer.email, customer.first_name, customer.purchase_count, str(customer.total_value)) == (
        "ada@example.com",
        "Ada",
        1,
        "39.98",
    )
    assert Event.objects.get(raw_name="alias").anonymous_id == "anon-7"
    assert "user-42" in segment_members(user, "engaged_users", settings)


def test_segments_library_hears_a_wrong_write_key_as_an_api_error(live_asgi_server, sources):  # noqa: F811
    from segment.analytics import Client
    from segment.analytics.request import APIError

    client = Client(write_key="wk_wrong", host=live_asgi_server, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as raised:
        client.track("user-42", "Clicked")
    assert (raised.value.status, raised.value.code) == (401, "invalid_write_key")
    assert not Event.objects.exists()


def test_rudderstacks_library_delivers_gzip_batches(live_asgi_server, sources, user):  # noqa: F811
    from rudderstack.analytics import Client

    segment, _ = sources
    client = Client(write_key=segment.write_key, host=live_asgi_server, sync_mode=True, gzip=True, max_retries=0)
    client.track("user-43", "Product Viewed", {"product_id": "SKU-2", "price": 9.5})
    client.identify("user-43", {"email": "bo@example.com"})

    assert set(Event.objects.filter(source=segment).values_list("event_type", flat=True)) == {"view_item", "custom"}
    assert Customer.objects.get(customer_key="user-43").email_sha256 == hashlib.sha256(b"bo@example.com").hexdigest()


def test_metas_business_sdk_sends_a_conversions_api_purchase(live_asgi_server, sources, user):  # noqa: F811
    from facebook_business.adobjects.serverside.action_source import ActionSource
    from facebook_business.adobjects.serverside.content import Content
    from facebook_business.adobjects.serverside.custom_data import CustomData
    from facebook_business.adobjects.serverside.event import Event as ServerEvent
    from facebook_business.adobjects.serverside.event_request import EventRequest
    from facebook_business.adobjects.serverside.user_data import UserData
    from facebook_business.api import FacebookAdsApi

    _, pixel = sources
    api = FacebookAdsApi.init(access_token=pixel.write_key, crash_log=False)
    api._session.GRAPH = live_asgi_server  # the one base URL a store changes
    try:
        event = ServerEvent(
            event_name="Purchase",
            event_time=1796600000,
            event_id="order-O-1001",
            action_source=ActionSource.WEBSITE,
            event_source_url="https://shop.example/checkout/thank-you",
            user_data=UserData(email="ada@example.com", external_id="user-42", fbp="fb.1.1596403881668.1116446470"),
            custom_data=CustomData(
                value=39.98, currency="eur", order_id="O-1001", contents=[Content(product_id="SKU-1", quantity=2)]
            ),
        )
        response = EventRequest(pixel_id=PIXEL, events=[event]).execute()
    finally:
        FacebookAdsApi.set_default_api(None)

    assert response.events_received == 1
    stored = Event.objects.get(source=pixel)
    assert (stored.event_type, str(stored.value), stored.currency) == ("purchase", "39.98", "EUR")
    customer = Customer.objects.get(customer_key=stored.customer_key)
    assert customer.email_sha256 == hashlib.sha256(b"ada@example.com").hexdigest()  # the SDK hashed it
    assert customer.purchase_count == 1
