"""Google Tag Manager: GA4 Measurement Protocol bodies and dataLayer pushes forwarded by our tag (DESIGN §5)."""

from collections.abc import Iterator
from datetime import datetime

from integrations.pipeline.schema import (
    EventRecord,
    Rejection,
    clip,
    content_hash,
    customer_key_for,
    email_hash,
    parse_currency,
    parse_money,
    parse_time,
)

GA4_TYPES = {
    "page_view": "page_view",
    "view_item": "view_item",
    "search": "search",
    "view_search_results": "search",
    "add_to_cart": "add_to_cart",
    "remove_from_cart": "remove_from_cart",
    "begin_checkout": "begin_checkout",
    "add_payment_info": "add_payment_info",
    "purchase": "purchase",
    "refund": "refund",
    "sign_up": "sign_up",
    "generate_lead": "lead",
}
ITEM_KEYS = ("item_id", "item_name", "item_brand", "item_category", "item_variant", "price", "quantity")
_ITEM_KEY_SET = frozenset(ITEM_KEYS)


def iter_items(payload) -> Iterator[dict]:
    """A collect body -> the events it carries: MP `events[]` (with the body's ids), a list of pushes, or one push."""
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        shared = {key: payload.get(key) for key in ("client_id", "user_id", "timestamp_micros", "user_data")}
        for event in payload["events"]:
            yield {"_mp": True, "_body": shared, "_event": event}
    elif isinstance(payload, list):
        yield from payload
    else:
        yield payload


def _items(raw) -> list[dict]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise Rejection("items must be a list.")
    items = []
    for item in raw[:200]:
        if not isinstance(item, dict):
            raise Rejection("each item must be an object.")
        # Most items carry only known keys: keep them as they are instead of copying key by key.
        items.append(item if item.keys() <= _ITEM_KEY_SET else {key: item[key] for key in ITEM_KEYS if key in item})
    return items


def _record(
    *, name: str, data: dict, occurred_at: datetime, user_id, client_id, session_id, event_id, email=""
) -> EventRecord:
    if not isinstance(name, str) or not name.strip():
        raise Rejection("event name is missing.")
    name = name.strip()
    if name.startswith("gtm."):
        raise Rejection(f"GTM internal event {name!r} is not a business event; ignored.")
    event_type = GA4_TYPES.get(name, "custom")
    value = parse_money(data.get("value"))
    currency = parse_currency(data.get("currency"))
    transaction_id = data.get("transaction_id")
    if event_type in ("purchase", "refund") and transaction_id in (None, ""):
        raise Rejection(f"{name} needs a transaction_id.")
    properties = {"items": _items(data.get("items"))}
    for key in ("page_location", "page_title", "page_referrer", "search_term", "coupon", "shipping", "tax", "method"):
        found = data.get(key)
        if found is not None and found != "":
            properties[key] = found
    if transaction_id not in (None, ""):
        properties["transaction_id"] = str(transaction_id)
    if not properties["items"]:
        properties.pop("items")
    customer_key = customer_key_for(user_id=user_id, email=email)
    if transaction_id not in (None, ""):
        external_id = f"{event_type}:{transaction_id}"
    elif event_id not in (None, ""):
        external_id = f"{name}:{event_id}"
    else:
        external_id = content_hash(name, customer_key, str(client_id or ""), occurred_at.isoformat(), properties)
    return EventRecord(
        external_id=clip(external_id),
        event_type=event_type,
        raw_name=clip(name, 100),
        occurred_at=occurred_at,
        customer_key=customer_key,
        anonymous_id=clip(client_id),
        session_id=clip(session_id),
        value=value,
        currency=currency,
        properties=properties,
        email=clip(email.strip().lower(), 254) if email else "",
        email_sha256=email_hash(email) if email else "",
    )


def _map_mp(item: dict, received_at: datetime) -> list[EventRecord]:
    body, event = item["_body"], item["_event"]
    if not isinstance(event, dict):
        raise Rejection("each entry of events must be an object.")
    params = event.get("params") or {}
    if not isinstance(params, dict):
        raise Rejection("params must be an object.")
    micros = event.get("timestamp_micros") or body.get("timestamp_micros")
    occurred_at = parse_time(micros, unit="us") if micros else received_at
    if not body.get("client_id") and not body.get("user_id"):
        raise Rejection("a Measurement Protocol body needs client_id or user_id.")
    return [
        _record(
            name=event.get("name"),
            data=params,
            occurred_at=occurred_at,
            user_id=body.get("user_id"),
            client_id=body.get("client_id"),
            session_id=params.get("session_id") or params.get("ga_session_id"),
            event_id=params.get("event_id"),
        )
    ]


def _map_tag(item: dict, received_at: datetime) -> list[EventRecord]:
    """Our tag's own flat shape (also the dummy generator's): tagId, triggerId, eventName, pageUrl, userId..."""
    occurred_at = parse_time(item["timestamp"]) if item.get("timestamp") else received_at
    data = {
        "value": item.get("value"),
        "currency": item.get("currency"),
        "items": item.get("items"),
        "transaction_id": item.get("transactionId"),
        "page_location": item.get("pageUrl"),
        "search_term": item.get("searchTerm"),
    }
    record = _record(
        name=item.get("eventName"),
        data=data,
        occurred_at=occurred_at,
        user_id=item.get("userId"),
        client_id=item.get("clientId"),
        session_id=item.get("sessionId"),
        event_id=item.get("eventId"),
        email=item.get("userEmail") or "",
    )
    record.properties.update({"tag_id": item.get("tagId"), "trigger_id": item.get("triggerId")})
    if item.get("userAgent"):
        record.properties["user_agent"] = clip(item["userAgent"], 300)
    return [record]


def _map_push(item: dict, received_at: datetime) -> list[EventRecord]:
    if "event" not in item and "ecommerce" in item and item["ecommerce"] is None:
        return []  # `{ecommerce: null}` clears the previous ecommerce object; not an event
    ecommerce = item.get("ecommerce")
    if ecommerce is not None and not isinstance(ecommerce, dict):
        raise Rejection("ecommerce must be an object.")
    data = dict(item)
    data.update(ecommerce or {})  # both the wrapped (recommended) and the flattened style
    stamp = item.get("timestamp_micros") or item.get("timestamp") or item.get("event_timestamp")
    occurred_at = parse_time(stamp) if stamp else received_at
    user_data = item.get("user_data") if isinstance(item.get("user_data"), dict) else {}
    return [
        _record(
            name=item.get("event"),
            data=data,
            occurred_at=occurred_at,
            user_id=item.get("user_id"),
            client_id=item.get("client_id"),
            session_id=item.get("session_id") or item.get("ga_session_id"),
            event_id=item.get("event_id"),
            email=user_data.get("email_address") or item.get("user_email") or "",
        )
    ]


def map_item(item, *, received_at: datetime) -> list[EventRecord]:
    """One GA4 / dataLayer event -> common records; raises Rejection with the reason."""
    if not isinstance(item, dict):
        raise Rejection("each event must be a JSON object.")
    if item.get("_mp"):
        return _map_mp(item, received_at)
    if "tagId" in item or "eventName" in item:
        return _map_tag(item, received_at)
    return _map_push(item, received_at)
