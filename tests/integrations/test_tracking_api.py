"""The Segment HTTP Tracking API and the Conversions-API endpoint over HTTP: auth, limits, gzip, answer shapes."""

import base64
import gzip
import json
from urllib.parse import urlencode

import pytest

from integrations.models import Customer, DataSource, Event
from tests.meta_fake import serve_fake_graph

pytestmark = pytest.mark.django_db
PIXEL = "123456789012345"


@pytest.fixture
def segment_source(workspace):
    return DataSource.objects.create(workspace=workspace, source_type="segment", name="Segment")


@pytest.fixture
def pixel(workspace):
    return DataSource.objects.create(
        workspace=workspace, source_type="facebook_pixel", name="Pixel", config={"pixelId": PIXEL}
    )


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def track(event="Order Completed", **extra) -> dict:
    properties = {"order_id": "O-1", "revenue": 20, "currency": "EUR"}
    return {"type": "track", "event": event, "userId": "u1", "properties": properties, **extra}


def post_segment(client, path, body, *, key=None, gzipped=False, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"HTTP_AUTHORIZATION": basic(key)} if key else {}
    if gzipped:
        data, headers["HTTP_CONTENT_ENCODING"] = gzip.compress(data), "gzip"
    return client.post(path, data, content_type="application/json", **headers)


def test_a_batch_with_the_write_key_as_basic_user_is_stored_and_answered_like_segment(client, segment_source):
    response = post_segment(client, "/v1/batch", {"batch": [track(messageId="m1")]}, key=segment_source.write_key)

    assert response.status_code == 200
    assert response.json()["success"] is True
    event = Event.objects.get(source=segment_source)
    assert (event.event_type, event.external_id, str(event.value)) == ("purchase", "purchase:O-1", "20.00")
    assert Customer.objects.get(customer_key="u1").purchase_count == 1


def test_the_write_key_may_come_in_the_body_as_analytics_js_sends_it(client, segment_source):
    body = {**track(), "writeKey": segment_source.write_key}
    response = client.post("/v1/t", json.dumps(body), content_type="text/plain")

    assert response.status_code == 200
    assert Event.objects.filter(source=segment_source, event_type="purchase").exists()


def test_gzip_bodies_are_read_as_rudderstack_sends_them(client, segment_source):
    body = {"batch": [track(), {"type": "identify", "userId": "u1", "traits": {"email": "u1@example.com"}}]}
    response = post_segment(client, "/v1/batch", body, key=segment_source.write_key, gzipped=True)

    assert response.status_code == 200
    assert Event.objects.filter(source=segment_source).count() == 2
    assert Customer.objects.get(customer_key="u1").email == "u1@example.com"


def test_a_repeated_message_id_is_stored_once(client, segment_source):
    message = {"type": "track", "event": "Clicked", "userId": "u1", "messageId": "m-7"}
    for _ in range(2):
        post_segment(client, "/v1/track", message, key=segment_source.write_key)

    assert Event.objects.filter(source=segment_source).count() == 1


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [("wk_nobody", 401, "invalid_write_key"), (None, 401, "invalid_write_key")],
)
def test_an_unknown_or_missing_write_key_is_refused_with_segments_code(client, segment_source, key, status, code):
    response = post_segment(client, "/v1/track", track(), key=key)

    assert response.status_code == status
    assert (response.json()["code"], response.json()["success"]) == (code, False)
    assert not Event.objects.exists()


def test_another_kind_of_sources_write_key_is_not_a_segment_key(client, pixel):
    response = post_segment(client, "/v1/track", track(), key=pixel.write_key)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_write_key"


def test_a_single_call_over_32_kb_and_a_batch_over_500_kb_are_400_as_segment_answers(client, segment_source):
    big = track(properties={"note": "x" * 33_000})
    assert post_segment(client, "/v1/track", big, key=segment_source.write_key).status_code == 400

    batch = {"batch": [track(messageId=f"m{i}", properties={"note": "y" * 20_000}) for i in range(30)]}
    response = post_segment(client, "/v1/batch", batch, key=segment_source.write_key)
    assert response.status_code == 400
    assert response.json()["code"] == "payload_too_large"
    assert not Event.objects.exists()


def test_an_event_over_32_kb_inside_a_batch_is_rejected_alone(client, segment_source):
    batch = {"batch": [track(properties={"note": "z" * 33_000}), track(event="Clicked", messageId="ok")]}
    response = post_segment(client, "/v1/batch", batch, key=segment_source.write_key)

    assert response.status_code == 200
    assert response.json()["rejected"][0]["index"] == 0
    assert Event.objects.filter(source=segment_source).count() == 1


def test_a_gzip_bomb_is_refused_without_inflating_it(client, segment_source):
    bomb = gzip.compress(b'{"batch": [' + b" " * 50_000_000 + b"]}")  # 50 MB of JSON in ~50 KB
    response = client.post(
        "/v1/batch",
        bomb,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION=basic(segment_source.write_key),
    )

    assert response.status_code == 400
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("raw", [b"{not json", b"\x1f\x8b broken gzip", b"[1, 2"])
def test_garbage_is_a_400_with_the_reason(client, segment_source, raw):
    encoding = {"HTTP_CONTENT_ENCODING": "gzip"} if raw.startswith(b"\x1f") else {}
    response = client.post(
        "/v1/batch",
        raw,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(segment_source.write_key),
        **encoding,
    )

    assert response.status_code == 400
    assert response.json()["success"] is False


def capi(client, body, *, token, pixel_id=PIXEL, version="v26.0", form=False, query_token=True):
    path = f"/{version}/{pixel_id}/events"
    if query_token:
        path += f"?access_token={token}"
    elif not form:
        body = {**body, "access_token": token}
    if form:
        fields = {key: json.dumps(value) if not isinstance(value, str) else value for key, value in body.items()}
        if not query_token:
            fields["access_token"] = token
        return client.post(path, urlencode(fields), content_type="application/x-www-form-urlencoded")
    return client.post(path, json.dumps(body), content_type="application/json")


PURCHASE = {"event_name": "Purchase", "event_time": 1796600000, "event_id": "o-1", "action_source": "website"}
PURCHASE |= {"user_data": {"em": ["a" * 64]}, "custom_data": {"value": 12.5, "currency": "EUR"}}


@pytest.mark.parametrize(("form", "query_token"), [(False, True), (False, False), (True, True), (True, False)], ids=str)
def test_capi_takes_the_token_in_the_query_the_json_body_or_the_form(client, pixel, form, query_token):
    data = [json.dumps(PURCHASE)] if form else [PURCHASE]  # the SDK's form: a JSON array of JSON strings
    response = capi(client, {"data": data}, token=pixel.write_key, form=form, query_token=query_token)

    assert response.status_code == 200
    body = response.json()
    assert (body["events_received"], body["messages"]) == (1, [])
    assert body["fbtrace_id"]
    assert Event.objects.get(source=pixel).external_id == "Purchase:o-1"


def test_capi_errors_come_in_graphs_shape(client, pixel):
    unknown = capi(client, {"data": [PURCHASE]}, token="wk_nobody")
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == 190 and unknown.json()["error"]["type"] == "OAuthException"

    other_pixel = capi(client, {"data": [PURCHASE]}, token=pixel.write_key, pixel_id="999999999999999")
    assert other_pixel.status_code == 403
    assert "not the pixel" in other_pixel.json()["error"]["message"]

    garbage = client.post(
        f"/v26.0/{PIXEL}/events?access_token={pixel.write_key}", b"{", content_type="application/json"
    )
    assert garbage.status_code == 400 and garbage.json()["error"]["code"] == 100
    assert not Event.objects.exists()


def test_capi_lists_bad_events_in_messages_and_stores_the_rest(client, pixel):
    response = capi(client, {"data": [PURCHASE, {"event_name": "Lead"}]}, token=pixel.write_key)

    body = response.json()
    assert body["events_received"] == 1
    assert "event_time" in body["messages"][0]
    assert Event.objects.filter(source=pixel).count() == 1


def test_capi_test_events_are_counted_but_not_stored(client, pixel):
    response = capi(client, {"data": [PURCHASE], "test_event_code": "TEST123"}, token=pixel.write_key)

    assert response.json()["events_received"] == 1
    assert not Event.objects.exists()


def test_capi_events_are_relayed_to_meta_when_the_source_holds_a_meta_token(client, pixel, settings):
    fake, base, stop = serve_fake_graph()
    settings.META_GRAPH_URL = base
    pixel.secrets = {"accessToken": "EAAB-real-meta-token-123456"}
    pixel.save()
    try:
        capi(client, {"data": [PURCHASE, {"event_name": "Lead"}], "test_event_code": "T9"}, token=pixel.write_key)
    finally:
        stop()

    (relayed,) = fake.of(f"/{PIXEL}/events")
    assert relayed["params"]["access_token"] == "EAAB-real-meta-token-123456"
    assert json.loads(relayed["params"]["data"]) == [PURCHASE]  # only what we accepted
    assert relayed["params"]["test_event_code"] == "T9"


def test_capi_stores_the_events_even_when_the_relay_to_meta_fails(client, pixel, settings, graph):
    graph.script = ["500"] * 20
    settings.META_MAX_ATTEMPTS = 2
    pixel.secrets = {"accessToken": "EAAB-real-meta-token-123456"}
    pixel.save()

    response = capi(client, {"data": [PURCHASE]}, token=pixel.write_key)

    assert response.status_code == 200
    assert response.json()["events_received"] == 1
    assert Event.objects.filter(source=pixel).count() == 1


def test_an_unsupported_encoding_and_a_get_are_refused_in_each_protocols_shape(client, segment_source, pixel):
    encoded = client.post(
        "/v1/batch",
        b"{}",
        content_type="application/json",
        HTTP_CONTENT_ENCODING="br",
        HTTP_AUTHORIZATION=basic(segment_source.write_key),
    )
    assert (encoded.status_code, encoded.json()["code"]) == (415, "unsupported_encoding")
    got = client.get(f"/v21.0/{PIXEL}/events?access_token={pixel.write_key}")
    assert got.status_code == 405 and "error" in got.json()


def test_an_oversized_capi_form_is_refused_in_graphs_shape_before_it_is_parsed(client, pixel, settings):
    settings.COLLECT_MAX_BODY_BYTES = 10_000
    fields = urlencode({"access_token": pixel.write_key, "data": json.dumps([PURCHASE] * 100)})

    response = client.post(f"/v26.0/{PIXEL}/events", fields, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == 100
    assert not Event.objects.exists()
