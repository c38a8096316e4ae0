"""Meta Pixel / Conversions API bodies, posted to the collect endpoint or to the Graph-shaped
`POST /{version}/{pixelId}/events` (DESIGN §5). Identifiers stay hashed."""

import json
from collections.abc import Iterator
from datetime import datetime

import httpx
from django.conf import settings

from integrations.models import DataSource
from integrations.pipeline.runner import record_validate
from integrations.pipeline.schema import (
    EventRecord,
    Rejection,
    clip,
    content_hash,
    customer_key_for,
    email_hash,
    is_sha256,
    parse_currency,
    parse_money,
    parse_time,
)
from marketing_ai.errors import ApplicationError, ProviderUnavailable

META_TYPES = {
    "PageView": "page_view",
    "ViewContent": "view_item",
    "Search": "search",
    "AddToCart": "add_to_cart",
    "InitiateCheckout": "begin_checkout",
    "AddPaymentInfo": "add_payment_info",
    "Purchase": "purchase",
    "CompleteRegistration": "sign_up",
    "Lead": "lead",
}


def iter_items(payload) -> Iterator:
    """`{data: [...]}` (Conversions API), a list of events, or one event."""
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        yield from payload["data"]
    elif isinstance(payload, list):
        yield from payload
    else:
        yield payload


def _first(value) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return "" if value is None else str(value).strip()


def _hashed(value: str) -> str:
    """Meta wants identifiers SHA-256 of the normalized value; keep hashes as they are, hash a plain value."""
    if not value:
        return ""
    return value.lower() if is_sha256(value) else email_hash(value)


CUSTOM_KEYS = frozenset({"content_ids", "content_type", "content_name", "order_id", "num_items", "search_string"})


def _items(contents) -> list[dict]:
    """`contents: [{id, quantity, item_price}]` -> items keyed like every other source's (GA4 names)."""
    if contents in (None, ""):
        return []
    if not isinstance(contents, list) or not all(isinstance(entry, dict) for entry in contents):
        raise Rejection("contents must be a list of objects.")
    items = []
    for entry in contents[:200]:
        item = {"item_id": entry["id"]} if entry.get("id") not in (None, "") else {}
        for key, name in (("quantity", "quantity"), ("item_price", "price"), ("title", "item_name")):
            if entry.get(key) not in (None, "") and not isinstance(entry[key], dict | list):
                item[name] = entry[key]
        items.append(item)
    return items


def _build(
    *, name, event_id, occurred_at: datetime, user_data: dict, custom: dict, url, extra: dict
) -> list[EventRecord]:
    if not isinstance(name, str) or not name.strip():
        raise Rejection("event_name is missing.")
    name = name.strip()
    event_type = META_TYPES.get(name, "custom")
    if not isinstance(user_data, dict) or not isinstance(custom, dict):
        raise Rejection("user_data and custom_data must be objects.")
    em = _hashed(_first(user_data.get("em")))
    external = _hashed(_first(user_data.get("external_id")))
    customer_key = customer_key_for(user_id=external or None, email_sha256=em)
    properties = {key: custom[key] for key in CUSTOM_KEYS.intersection(custom) if custom[key] not in (None, "")}
    items = _items(custom.get("contents"))
    if items:
        properties["items"] = items
    if url:
        properties["page_url"] = clip(url, 2000)
    for key, value in extra.items():
        if value not in (None, ""):
            properties[key] = value
    if event_id in (None, ""):
        event_id = content_hash(name, customer_key, occurred_at.isoformat(), properties)
    return [
        EventRecord(
            external_id=clip(f"{name}:{event_id}"),
            event_type=event_type,
            raw_name=clip(name, 100),
            occurred_at=occurred_at,
            customer_key=customer_key,
            anonymous_id=clip(_first(user_data.get("fbp"))),
            value=parse_money(custom.get("value")),
            currency=parse_currency(custom.get("currency")),
            properties=properties,
            email_sha256=em,
        )
    ]


def _map_capi(item: dict) -> list[EventRecord]:
    if item.get("event_time") in (None, ""):
        raise Rejection("event_time (Unix seconds) is required.")
    return _build(
        name=item.get("event_name"),
        event_id=item.get("event_id"),
        occurred_at=parse_time(item["event_time"], unit="s"),
        user_data=item.get("user_data") or {},
        custom=item.get("custom_data") or {},
        url=item.get("event_source_url"),
        extra={"action_source": item.get("action_source")},
    )


def _map_pixel(item: dict, received_at: datetime) -> list[EventRecord]:
    """Our tag's flat shape beside `fbq` (also the dummy generator's): eventId, pixelId, eventName, userId..."""
    occurred_at = parse_time(item["timestamp"]) if item.get("timestamp") else received_at
    user_data = {"external_id": item.get("userId"), "em": item.get("emailSha256"), "fbp": item.get("fbp")}
    custom = {"value": item.get("value"), "currency": item.get("currency"), "content_ids": item.get("contentIds")}
    custom["order_id"] = item.get("orderId")
    records = _build(
        name=item.get("eventName"),
        event_id=item.get("eventId"),
        occurred_at=occurred_at,
        user_data={key: value for key, value in user_data.items() if value},
        custom=custom,
        url=item.get("pageUrl"),
        extra={"pixel_id": item.get("pixelId"), "user_agent": clip(item.get("userAgent"), 300)},
    )
    # Our own tag sends the site's user id in clear: that id is the customer key shared with the other sources.
    if item.get("userId"):
        records[0].customer_key = customer_key_for(user_id=item["userId"])
    return records


def map_item(item, *, received_at: datetime) -> list[EventRecord]:
    """One Conversions-API event (or our tag's flat event) -> common records; raises Rejection."""
    if not isinstance(item, dict):
        raise Rejection("each event must be a JSON object.")
    if "event_name" in item:
        return _map_capi(item)
    if "eventName" in item or "pixelId" in item:
        return _map_pixel(item, received_at)
    raise Rejection("not a Conversions API event (event_name is missing).")


NOT_A_CAPI_BODY = "the body needs a `data` array of events."
BAD_EVENT_JSON = "this entry of `data` is not valid JSON."


class ConversionsApiCall:
    """The intake adapter of one Graph-shaped `POST /{version}/{pixelId}/events` call.

    The source must be a Meta Pixel source with this pixel id. `data` entries may be objects or JSON strings (the
    official SDK sends a JSON array of JSON strings). With a `test_event_code` the events are checked and counted
    but not stored, as Meta keeps test events out of reporting. It remembers what the call carried, for the
    answer and the relay to Meta.
    """

    def __init__(self, *, pixel_id: str):
        self.pixel_id = pixel_id
        self.source: DataSource | None = None
        self.events: list = []
        self.accepted: list[dict] = []  # what is relayed to Meta when the source holds a Meta token
        self.test_event_code = ""

    def source_error(self, source: DataSource) -> str | None:
        if str(source.config.get("pixelId") or "") != self.pixel_id:
            return f"Pixel {self.pixel_id} is not the pixel of this access token's source."
        self.source = source
        return None

    def write_key_in(self, payload) -> str:
        token = payload.get("access_token") if isinstance(payload, dict) else None
        return token if isinstance(token, str) else ""

    def iter_items(self, payload) -> Iterator:
        data = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError):
                data = None
        if not isinstance(data, list):
            yield NOT_A_CAPI_BODY
            return
        code = payload.get("test_event_code")
        self.test_event_code = str(code).strip()[:100] if isinstance(code, str | int) else ""
        for entry in data:
            if isinstance(entry, str):
                try:
                    entry = json.loads(entry)
                except (ValueError, RecursionError):
                    entry = BAD_EVENT_JSON
            self.events.append(entry)
            yield entry

    def map_item(self, item, *, received_at: datetime) -> list[EventRecord]:
        if item is NOT_A_CAPI_BODY or item is BAD_EVENT_JSON:
            raise Rejection(item)
        if not isinstance(item, dict) or "event_name" not in item:
            raise Rejection("each event needs an event_name.")
        records = _map_capi(item)
        for record in records:
            record_validate(record)
        self.accepted.append(item)
        return [] if self.test_event_code else records


def conversions_relay(*, pixel_id: str, access_token: str, events: list[dict], test_event_code: str = "") -> dict:
    """Send the same events on to Meta's Conversions API (like Meta's own CAPI Gateway); Meta's answer."""
    from .meta_graph import graph_api, graph_call

    api = graph_api(access_token=access_token)
    params = {"data": events, **({"test_event_code": test_event_code} if test_event_code else {})}
    return graph_call(lambda: api.call("POST", (pixel_id, "events"), params=params).json(), what="receive the events")


def meta_pixel_check(*, pixel_id: str, access_token: str) -> dict:
    """Graph API read of the pixel: proves the token can see it."""
    base = settings.META_GRAPH_URL.format(version=settings.META_GRAPH_VERSION).rstrip("/")
    try:
        response = httpx.get(
            f"{base}/{pixel_id}",
            params={"fields": "id,name", "access_token": access_token},
            timeout=settings.SHOPIFY_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise ProviderUnavailable("Meta could not be reached.") from exc
    if response.status_code in (400, 401, 403):
        raise ApplicationError("Meta rejected the access token or cannot see this pixel.")
    if response.status_code == 404:
        raise ApplicationError("Meta knows no pixel with this id.")
    if response.status_code >= 400:
        raise ProviderUnavailable(f"Meta answered {response.status_code}.")
    return response.json()
