"""POST /api/collect/{writeKey}: limits, per-event results, CORS, rate limit, idempotent re-delivery."""

import gzip
import json
import time

import pytest

from integrations.intake import IntakeAnswer, IntakeLimits, intake_admitted, intake_process, intake_response
from integrations.models import Customer, Event
from integrations.pipeline.schema import EventRecord

pytestmark = pytest.mark.django_db


def post(client, source_or_key, body, **headers):
    key = getattr(source_or_key, "write_key", source_or_key)
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(f"/api/collect/{key}", data=data, content_type="application/json", **headers)


def mp_body(n: int, *, user: str = "u1", pad: str = "") -> dict:
    return {
        "client_id": "555.666",
        "user_id": user,
        "timestamp_micros": 1763700000000000,
        "events": [
            {
                "name": "page_view",
                "params": {"page_location": f"https://shop.test/p/{i}", "event_id": f"e{i}", "page_title": pad},
            }
            for i in range(n)
        ],
    }


def test_a_valid_ga4_batch_is_accepted_and_stored(client, gtm_source):
    response = post(client, gtm_source, mp_body(3))
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "rejected": []}
    assert Event.objects.filter(source=gtm_source).count() == 3


def test_each_rejected_event_is_listed_with_its_index_and_the_rest_go_through(client, gtm_source):
    pushes = [
        {
            "event": "view_item",
            "user_id": "u1",
            "timestamp": "2026-11-01T10:00:00Z",
            "ecommerce": {"value": 5, "currency": "EUR"},
        },
        {"event": "purchase", "ecommerce": {"value": 5}},
        {"event": "gtm.js", "gtm.start": 1},
        {"ecommerce": None},
        {"event": "add_to_cart", "timestamp": "2026-11-01T10:01:00Z", "ecommerce": {"currency": "EURO"}},
    ]
    response = post(client, gtm_source, pushes)
    body = response.json()
    assert response.status_code == 202 and body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == [1, 2, 4]
    assert all(r["reason"] for r in body["rejected"])


def test_meta_conversions_api_body_goes_through_the_pixel_source(client, pixel_source):
    body = {
        "data": [
            {
                "event_name": "Purchase",
                "event_time": 1763700000,
                "event_id": "order-77",
                "user_data": {"em": ["a" * 64]},
                "custom_data": {"value": 12.5, "currency": "usd"},
            }
        ]
    }
    response = post(client, pixel_source, body)
    assert response.status_code == 202 and response.json()["accepted"] == 1
    event = Event.objects.get(source=pixel_source)
    assert (event.external_id, event.event_type, event.currency) == ("Purchase:order-77", "purchase", "USD")
    assert event.customer_key == "email:" + "a" * 64


def test_more_than_1000_events_is_refused_whole_with_413(client, gtm_source):
    response = post(client, gtm_source, mp_body(1001))
    assert response.status_code == 413 and "1001" in response.json()["message"]
    assert Event.objects.count() == 0


def test_an_event_over_32_kb_is_rejected_alone(client, gtm_source):
    body = mp_body(2)
    body["events"][1]["params"]["page_title"] = "x" * (33 * 1024)
    response = post(client, gtm_source, body)
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    assert response.json()["rejected"][0]["index"] == 1 and "KB" in response.json()["rejected"][0]["reason"]


def test_a_body_over_1_mb_is_refused_with_413(client, gtm_source):
    response = post(client, gtm_source, mp_body(40, pad="y" * 30_000))
    assert response.status_code == 413
    assert response.json()["statusCode"] == 413
    assert Event.objects.count() == 0


def test_an_unknown_write_key_is_401(client, db):
    response = post(client, "wk_nope", mp_body(1))
    assert response.status_code == 401 and response.json()["statusCode"] == 401


def test_invalid_json_is_400_in_the_error_shape(client, gtm_source):
    response = post(client, gtm_source, b"{not json")
    assert response.status_code == 400 and "JSON" in response.json()["message"]


def test_the_per_key_rate_limit_answers_429_with_retry_after(client, gtm_source, settings):
    settings.COLLECT_RATE_LIMIT_REQUESTS = 2
    settings.COLLECT_RATE_LIMIT_WINDOW_SECONDS = 60
    assert post(client, gtm_source, mp_body(1)).status_code == 202
    assert post(client, gtm_source, mp_body(1)).status_code == 202
    response = post(client, gtm_source, mp_body(1))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61


def test_preflight_and_answers_carry_cors_headers_for_the_posting_site(client, gtm_source):
    preflight = client.options(
        f"/api/collect/{gtm_source.write_key}",
        HTTP_ORIGIN="https://shop.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    response = post(client, gtm_source, mp_body(1), HTTP_ORIGIN="https://shop.example.com")
    assert response["Access-Control-Allow-Origin"] == "https://shop.example.com"


def test_re_delivering_the_same_batch_adds_no_rows_and_keeps_customer_counts(client, gtm_source):
    body = mp_body(5, user="cust-9")
    post(client, gtm_source, body)
    first = Customer.objects.get(customer_key="cust-9")
    response = post(client, gtm_source, body)
    assert response.status_code == 202 and response.json()["accepted"] == 5
    assert Event.objects.count() == 5
    again = Customer.objects.get(customer_key="cust-9")
    assert (again.event_count, again.purchase_count) == (first.event_count, first.purchase_count) == (5, 0)


def test_a_shopify_or_csv_source_has_no_collect_key(client, workspace):
    from integrations.models import DataSource

    shop = DataSource.objects.create(workspace=workspace, source_type="shopify", name="s", config={})
    assert post(client, shop.write_key, mp_body(1)).status_code == 401


def test_absurdly_nested_json_is_400_not_a_crash(client, gtm_source):
    response = client.post(
        f"/api/collect/{gtm_source.write_key}", "[" * 5000 + "]" * 5000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["statusCode"] == 400
    assert not Event.objects.filter(source=gtm_source).exists()


def test_a_declared_body_over_the_limit_is_413_before_anything_is_read(client, gtm_source, settings):
    settings.COLLECT_MAX_BODY_BYTES = 1000
    response = post(client, gtm_source, mp_body(40))
    assert response.status_code == 413 and "1000 bytes" in response.json()["message"]
    assert not Event.objects.exists()


def test_a_paused_source_is_403_and_stores_nothing(client, gtm_source):
    gtm_source.status = "paused"
    gtm_source.save(update_fields=["status"])
    response = post(client, gtm_source, mp_body(1))
    assert response.status_code == 403 and response.json()["statusCode"] == 403
    assert not Event.objects.exists()


def test_a_process_at_capacity_answers_429_with_retry_after_and_cors(client, gtm_source, settings):
    settings.COLLECT_MAX_IN_FLIGHT = 0
    response = post(client, gtm_source, mp_body(2), HTTP_ORIGIN="https://shop.example.com")
    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert response.json()["statusCode"] == 429
    assert response["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert not Event.objects.exists()


def test_batches_beyond_the_in_flight_cap_are_refused_until_one_finishes(settings):
    settings.COLLECT_MAX_IN_FLIGHT = 2
    with intake_admitted() as first, intake_admitted() as second, intake_admitted() as third:
        assert (first, second, third) == (True, True, False)
    with intake_admitted() as again:
        assert again


class Uppercase:
    """Another wire format: a list of {"n": name, "id": id} mapped to custom events."""

    @staticmethod
    def iter_items(payload):
        return payload

    @staticmethod
    def map_item(item, *, received_at):
        return [
            EventRecord(
                external_id=item["id"],
                event_type="custom",
                occurred_at=received_at,
                properties={"name": item["n"].upper()},
            )
        ]


def test_another_endpoint_reuses_the_intake_with_its_own_adapter_and_limits(gtm_source, settings):
    body = json.dumps([{"n": "wave", "id": "w1"}, {"n": "nod"}]).encode()
    answer = intake_process(write_key=gtm_source.write_key, body=body, adapter=Uppercase)
    assert (answer.status, answer.accepted) == (202, 1) and answer.rejected[0]["index"] == 1
    assert Event.objects.get(source=gtm_source).properties["name"] == "WAVE"

    settings.COLLECT_MAX_EVENTS = 1
    assert intake_process(write_key=gtm_source.write_key, body=body, adapter=Uppercase).status == 413


def test_a_batch_that_waited_too_long_behind_the_proxy_is_429_without_being_stored(client, gtm_source, settings):
    settings.COLLECT_MAX_QUEUE_MS = 500
    waited = f"t={time.time() - 2:.3f}"  # nginx's ${msec}

    late = post(client, gtm_source, mp_body(1), HTTP_X_REQUEST_START=waited)
    fresh = f"t={int(time.time() * 1000)}"  # Caddy's {time.now.unix_ms}, stamped as this request leaves
    on_time = post(client, gtm_source, mp_body(1), HTTP_X_REQUEST_START=fresh)

    assert late.status_code == 429 and late["Retry-After"] == "1" and late.json()["statusCode"] == 429
    assert on_time.status_code == 202
    assert Event.objects.count() == 1


def test_a_gzip_body_is_inflated_and_stored(client, gtm_source):
    response = client.post(
        f"/api/collect/{gtm_source.write_key}",
        gzip.compress(json.dumps(mp_body(3)).encode()),
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert response.status_code == 202 and response.json()["accepted"] == 3
    assert Event.objects.filter(source=gtm_source).count() == 3


def test_a_gzip_bomb_is_413_without_inflating_it_whole_and_bad_encodings_are_refused(client, gtm_source, settings):
    settings.COLLECT_MAX_BODY_BYTES = 10_000
    bomb = gzip.compress(b"[" + b" " * 5_000_000 + b"]")  # ~5 KB on the wire, 5 MB inflated
    url = f"/api/collect/{gtm_source.write_key}"

    inflated = client.post(url, bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    garbage = client.post(url, b"not gzip", content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    cut = gzip.compress(json.dumps(mp_body(2)).encode())[:-12]
    truncated = client.post(url, cut, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    brotli = client.post(url, b"{}", content_type="application/json", HTTP_CONTENT_ENCODING="br")

    assert len(bomb) < 10_000 and inflated.status_code == 413 and "decompressed" in inflated.json()["message"]
    assert [garbage.status_code, truncated.status_code, brotli.status_code] == [400, 400, 415]
    assert not Event.objects.exists()


def test_an_endpoint_takes_only_its_own_source_types_and_its_own_body_limit(gtm_source, pixel_source):
    limits = IntakeLimits(source_types=("facebook_pixel",), max_body_bytes=50)
    small = json.dumps({"data": []}).encode()

    other_type = intake_process(write_key=gtm_source.write_key, body=small, limits=limits)
    own_type = intake_process(write_key=pixel_source.write_key, body=small, limits=limits)
    too_big = intake_process(write_key=pixel_source.write_key, body=b" " * 51, limits=limits)

    assert (other_type.status, own_type.status, too_big.status) == (401, 202, 413)


def test_shape_rewrites_stored_and_refused_answers_alike(rf, gtm_source):
    def segment_style(answer):
        ok = answer.status == 202
        body = {"success": True} if ok else {"code": answer.status, "message": answer.body["message"]}
        return IntakeAnswer(200 if ok else answer.status, body, answer.headers)

    def post_raw(key, body):
        request = rf.post(f"/x/{key}", body, content_type="application/json", HTTP_ORIGIN="https://a.test")
        return intake_response(request, write_key=key, shape=segment_style)

    stored = post_raw(gtm_source.write_key, json.dumps(mp_body(1)))
    refused = post_raw("wk_unknown", json.dumps(mp_body(1)))

    assert (stored.status_code, json.loads(stored.content)) == (200, {"success": True})
    assert (refused.status_code, json.loads(refused.content)) == (401, {"code": 401, "message": "Unknown write key."})
    assert refused["Access-Control-Allow-Origin"] == "https://a.test"


def test_a_lone_surrogate_in_one_event_is_cleaned_and_the_whole_batch_is_stored(client, gtm_source):
    body = mp_body(1000)
    body["events"][500]["params"]["page_title"] = "Sale \ud83d"  # half an emoji: no UTF-8 text can hold it

    response = post(client, gtm_source, body)

    assert response.status_code == 202
    assert response.json() == {"accepted": 1000, "rejected": []}
    assert Event.objects.filter(source=gtm_source).count() == 1000
    assert Event.objects.get(external_id="page_view:e500").properties["page_title"] == "Sale \ufffd"


def test_nul_and_surrogates_in_ids_and_properties_are_cleaned_the_same_on_every_database(client, gtm_source):
    body = mp_body(2, user="u\x00ser\udc00")
    body["client_id"] = "cl\x00ient"
    body["events"][0]["params"].update(
        {"event_id": "e\x00x", "items": [{"item_id": "1\x00", "item_name": "Caf\udce9"}]}
    )

    response = post(client, gtm_source, body)

    assert response.status_code == 202 and response.json()["accepted"] == 2
    event = Event.objects.get(external_id="page_view:ex")
    assert (event.customer_key, event.anonymous_id) == ("user\ufffd", "client")
    assert event.properties["items"] == [{"item_id": "1", "item_name": "Caf\ufffd"}]
    assert Customer.objects.get(customer_key="user\ufffd").event_count == 2
