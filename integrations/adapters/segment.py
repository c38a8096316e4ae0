"""Segment HTTP Tracking API calls (also what RudderStack, PostHog and Jitsu clients send) -> common records.

Spec: https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/ and the e-commerce spec
(https://segment.com/docs/connections/spec/ecommerce/v2/). `track` events of the e-commerce spec map to the
canonical types of DESIGN §5; any other event is kept as `custom` with its name. `identify` and `alias` become
`custom` events that carry both the anonymous id (alias: `previousId`) and the known key (`userId`), which is
what identity stitching joins on.
"""

import functools
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

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

CALLS = ("identify", "track", "page", "screen", "group", "alias")
# The e-commerce spec's names (and the SaaS spec's "Signed Up"); looked up case- and separator-insensitively.
ECOMMERCE_TYPES = {
    "products searched": "search",
    "product viewed": "view_item",
    "product added": "add_to_cart",
    "product removed": "remove_from_cart",
    "checkout started": "begin_checkout",
    "payment info entered": "add_payment_info",
    "order completed": "purchase",
    "order refunded": "refund",
    "signed up": "sign_up",
}
ITEM_FIELDS = (  # Segment product field -> the GA4 item key every source's items use
    ("product_id", "item_id"),
    ("sku", "item_id"),
    ("name", "item_name"),
    ("brand", "item_brand"),
    ("category", "item_category"),
    ("variant", "item_variant"),
    ("price", "price"),
    ("quantity", "quantity"),
)
NOT_A_BATCH = "a batch body is an object with a `batch` list of messages."
KEPT_PROPERTIES = 50  # scalar properties kept per custom event (the 32 KB event limit bounds the rest)


class SegmentCalls:
    """The intake adapter of one endpoint: `/v1/batch` (call=None: each message says its type) or one call."""

    def __init__(self, call: str | None = None):
        self.call = call

    def iter_items(self, payload) -> Iterator:
        """The messages of a body. A batch's `sentAt` and `context` apply to each of its messages."""
        if self.call is not None:
            if isinstance(payload, dict):
                payload["type"] = self.call  # the path says what the call is
            yield payload
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("batch"), list):
            yield NOT_A_BATCH  # a sentinel: rejected with the reason by map_message
            return
        sent_at, shared = payload.get("sentAt"), payload.get("context")
        for message in payload["batch"]:
            if isinstance(message, dict):
                if sent_at and not message.get("sentAt"):
                    message["sentAt"] = sent_at
                if isinstance(shared, dict):
                    own = message.get("context")
                    message["context"] = {**shared, **own} if isinstance(own, dict) else shared
            yield message

    def map_item(self, item, *, received_at: datetime) -> list[EventRecord]:
        return map_message(item, received_at=received_at)

    def write_key_in(self, payload) -> str:
        """analytics.js sends the key in the body (`writeKey`) rather than as HTTP Basic user."""
        key = payload.get("writeKey") if isinstance(payload, dict) else None
        return key if isinstance(key, str) else ""


BATCH = SegmentCalls()
SINGLE = {call: SegmentCalls(call) for call in CALLS}


def occurred_at_corrected(message: dict, *, received_at: datetime) -> datetime:
    """`timestamp` corrected for the client's clock skew: receivedAt - (sentAt - timestamp), as Segment does.

    Without `sentAt` the timestamp is taken as given (historical imports); without a timestamp, receivedAt.
    """
    stamp = message.get("originalTimestamp") or message.get("timestamp")
    if not stamp:
        return received_at
    moment = _moment(stamp)
    if message.get("sentAt"):
        return received_at - (_moment(message["sentAt"]) - moment)
    return moment


def _moment(value) -> datetime:
    """parse_time, remembered for strings: a batch's messages share its `sentAt` (and often their timestamps)."""
    return _moment_of_text(value) if value.__class__ is str else parse_time(value)


@functools.lru_cache(maxsize=4096)
def _moment_of_text(value: str) -> datetime:
    return parse_time(value)


def _text(value) -> str:
    if value.__class__ is str:  # the common case first: this runs ~20 times per message
        return value.strip()
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return str(value).strip()


def _context(message: dict) -> dict:
    return message["context"] if isinstance(message.get("context"), dict) else {}


def _traits(message: dict, context: dict) -> dict:
    """identify's `traits`, over `context.traits` (where RudderStack and track calls carry them)."""
    traits = dict(context.get("traits")) if isinstance(context.get("traits"), dict) else {}
    if isinstance(message.get("traits"), dict):
        traits.update(message["traits"])
    return traits


def _item(product: dict) -> dict:
    if not isinstance(product, dict):
        raise Rejection("each product must be an object.")
    item = {}
    for source_key, item_key in ITEM_FIELDS:
        value = product.get(source_key)
        if value not in (None, "") and item_key not in item and not isinstance(value, dict | list):
            item[item_key] = value
    return item


def _items(properties: dict) -> list[dict]:
    products = properties.get("products")
    if isinstance(products, list):
        return [_item(product) for product in products[:200]]
    if products not in (None, ""):
        raise Rejection("products must be a list.")
    single = _item(properties)
    return [single] if "item_id" in single or "item_name" in single else []


def _value(properties: dict, event_type: str) -> Decimal | None:
    for key in ("revenue", "total", "value"):
        if properties.get(key) not in (None, ""):
            return parse_money(properties[key], what=key)
    if event_type in ("view_item", "add_to_cart", "remove_from_cart") and properties.get("price") not in (None, ""):
        price = parse_money(properties["price"], what="price")
        quantity = properties.get("quantity")
        return (price * Decimal(str(quantity))).quantize(Decimal("0.01")) if _is_count(quantity) else price
    return None


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1_000_000


def _scalars(properties: dict) -> dict:
    kept = {}
    for key, value in properties.items():
        if len(kept) == KEPT_PROPERTIES:
            break
        if isinstance(value, str):
            kept[clip(key, 100)] = clip(value, 500)
        elif isinstance(value, int | float | bool) or value is None:
            kept[clip(key, 100)] = value
    return kept


def _name_and_type(message: dict, call: str) -> tuple[str, str]:
    if call == "track":
        name = _text(message.get("event"))
        if not name:
            raise Rejection("a track call needs an `event` name.")
        return name, _canonical_type(name)
    if call in ("page", "screen"):
        return call, "page_view"
    return call, "custom"


@functools.lru_cache(maxsize=1024)
def _canonical_type(name: str) -> str:
    return ECOMMERCE_TYPES.get(" ".join(name.replace("_", " ").lower().split()), "custom")


TRACK_KEYS = frozenset({"order_id", "checkout_id", "cart_id", "query", "coupon", "shipping", "tax", "discount"})


def _properties(message: dict, call: str, event_type: str, raw: dict, context: dict) -> dict:
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    properties: dict = {}
    if call in ("page", "screen"):
        for key in ("name", "category"):
            if _text(message.get(key)):
                properties[key] = clip(message[key], 200)
        url = raw.get("url") or page.get("url")
        if _text(url):
            properties["page_url"] = clip(url, 2000)
        if _text(raw.get("title") or page.get("title")):
            properties["page_title"] = clip(raw.get("title") or page.get("title"), 300)
    elif call == "track":
        items = _items(raw)
        if items:
            properties["items"] = items
        for key in TRACK_KEYS.intersection(raw):
            if _text(raw[key]):
                properties[key] = raw[key]
        if event_type == "custom":
            properties["properties"] = _scalars(raw)
        if _text(page.get("url")):
            properties["page_url"] = clip(page["url"], 2000)
    elif call == "group":
        properties["group_id"] = clip(_text(message.get("groupId")), 255)
        if isinstance(message.get("traits"), dict):
            properties["traits"] = _scalars(message["traits"])
    if _text(context.get("userAgent")):
        properties["user_agent"] = clip(context["userAgent"], 300)
    if isinstance(context.get("campaign"), dict):
        properties["campaign"] = _scalars(context["campaign"])
    library = context.get("library") if isinstance(context.get("library"), dict) else {}
    if _text(library.get("name")):
        properties["library"] = clip(f"{library['name']} {_text(library.get('version'))}".strip(), 100)
    return properties


def map_message(message, *, received_at: datetime) -> list[EventRecord]:
    """One Segment message -> one common record; raises Rejection with the reason."""
    if message is NOT_A_BATCH:
        raise Rejection(NOT_A_BATCH)
    if not isinstance(message, dict):
        raise Rejection("each message must be a JSON object.")
    call = _text(message.get("type")).lower()
    if call not in CALLS:
        raise Rejection(f"type must be one of {', '.join(CALLS)}.")
    user_id, anonymous_id = _text(message.get("userId")), _text(message.get("anonymousId"))
    if call == "alias":
        anonymous_id = _text(message.get("previousId"))
        if not user_id or not anonymous_id:
            raise Rejection("an alias call needs both userId and previousId.")
    elif not user_id and not anonymous_id:
        raise Rejection("a message needs a userId or an anonymousId.")
    name, event_type = _name_and_type(message, call)
    occurred_at = occurred_at_corrected(message, received_at=received_at)
    raw = message.get("properties")
    raw = raw if raw.__class__ is dict else {}
    context = _context(message)
    properties = _properties(message, call, event_type, raw, context)
    traits = _traits(message, context)
    email = _text(traits.get("email"))
    if email and "@" not in email:
        email = ""  # not an address: never becomes a key
    if call != "track":
        raw = {}
    value, currency = _value(raw, event_type), parse_currency(raw.get("currency"))
    customer_key = customer_key_for(user_id=user_id or None, email=email)
    order_id = _text(properties.get("order_id"))
    if event_type in ("purchase", "refund") and order_id:
        external_id = f"{event_type}:{order_id}"  # a re-sent order is the same order, whatever its messageId
    elif _text(message.get("messageId")):
        external_id = f"msg:{_text(message.get('messageId'))}"
    else:
        external_id = content_hash(call, name, customer_key, anonymous_id, occurred_at.isoformat(), properties)
    return [
        EventRecord(
            external_id=clip(external_id),
            event_type=event_type,
            raw_name=clip(name, 100),
            occurred_at=occurred_at,
            customer_key=customer_key,
            anonymous_id=clip(anonymous_id),
            session_id=clip(_text(context.get("sessionId"))),
            value=value,
            currency=currency,
            properties=properties,
            email=clip(email.lower(), 254),
            email_sha256=email_hash(email) if email else "",
            first_name=clip(_text(traits.get("firstName") or traits.get("first_name")), 150),
            last_name=clip(_text(traits.get("lastName") or traits.get("last_name")), 150),
        )
    ]
