"""Shopify: orders and customers (Admin API REST/GraphQL shapes, webhooks), web-pixel style events, HMAC checks.

The GraphQL client lives in `shopify_api.py`; it normalizes GraphQL nodes to the REST shape mapped here.
"""

import base64
import hashlib
import hmac
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

# Shopify customer events (Web Pixels API) and webhook topics -> canonical types (DESIGN §5).
PIXEL_TYPES = {
    "page_viewed": "page_view",
    "product_viewed": "view_item",
    "search_submitted": "search",
    "product_added_to_cart": "add_to_cart",
    "product_removed_from_cart": "remove_from_cart",
    "checkout_started": "begin_checkout",
    "payment_info_submitted": "add_payment_info",
    "checkout_completed": "purchase",
}
ORDER_TOPICS = {"orders/create", "orders/updated", "orders/paid", "order"}


def webhook_signature_valid(*, raw_body: bytes, secret: str, signature: str) -> bool:
    """X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(secret, raw body)), compared in constant time."""
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def numeric_id(value) -> str:
    """`gid://shopify/Order/450789469` or 450789469 -> '450789469'."""
    if value in (None, ""):
        return ""
    return str(value).rsplit("/", 1)[-1]


def _customer_fields(customer: dict | None, email: str = "") -> dict:
    customer = customer if isinstance(customer, dict) else {}
    email = (customer.get("email") or email or "").strip().lower()
    customer_id = numeric_id(customer.get("id"))
    return {
        "customer_key": customer_key_for(user_id=customer_id or None, email=email),
        "email": clip(email, 254),
        "email_sha256": email_hash(email),
        "first_name": clip(customer.get("first_name"), 150),
        "last_name": clip(customer.get("last_name"), 150),
    }


def _line_items(order: dict) -> list[dict]:
    items = []
    for line in order.get("line_items") or []:
        if not isinstance(line, dict):
            continue
        items.append(
            {
                "item_id": numeric_id(line.get("product_id")) or clip(line.get("sku")),
                "sku": clip(line.get("sku")),
                "item_name": clip(line.get("title") or line.get("name")),
                "price": str(parse_money(line.get("price"), what="line item price") or "0.00"),
                "quantity": int(line.get("quantity") or 1),
            }
        )
    return items


def map_order(order: dict, *, topic: str = "order") -> list[EventRecord]:
    """An order (REST/webhook shape) -> a purchase (once per order id, whatever the topic) plus its refunds."""
    order_id = numeric_id(order.get("id"))
    if not order_id:
        raise Rejection("order id is missing.")
    if not order.get("created_at"):
        raise Rejection("order created_at is missing.")
    people = _customer_fields(order.get("customer"), order.get("email") or order.get("contact_email") or "")
    currency = parse_currency(order.get("currency") or order.get("presentment_currency"))
    properties = {
        "order_id": order_id,
        "order_name": clip(order.get("name")),
        "financial_status": clip(order.get("financial_status")),
        "items": _line_items(order),
        "topic": topic,
    }
    agent = (order.get("client_details") or {}).get("user_agent")
    if agent:  # the browser the order was placed in: the coverage report explains what trackers miss with it
        properties["user_agent"] = clip(agent, 300)
    cancelled = bool(order.get("cancelled_at"))
    if cancelled:
        properties["cancelled_at"] = order["cancelled_at"]
    records = [
        EventRecord(
            external_id=f"order:{order_id}",
            event_type="custom" if cancelled else "purchase",
            raw_name="order_cancelled" if cancelled else "order",
            occurred_at=parse_time(order.get("processed_at") or order["created_at"]),
            anonymous_id=clip(order.get("cart_token") or order.get("checkout_token")),
            value=parse_money(order.get("total_price"), what="total_price"),
            currency=currency,
            properties=properties,
            **people,
        )
    ]
    for refund in order.get("refunds") or []:
        if not isinstance(refund, dict) or not refund.get("id"):
            continue
        amount = refund.get("total_refunded")
        if amount is None:
            amount = sum(
                (parse_money(t.get("amount")) or 0)
                for t in refund.get("transactions") or []
                if isinstance(t, dict) and t.get("kind") == "refund"
            )
        records.append(
            EventRecord(
                external_id=f"refund:{numeric_id(refund['id'])}",
                event_type="refund",
                raw_name="refunds/create",
                occurred_at=parse_time(refund.get("created_at") or order["created_at"]),
                value=parse_money(amount),
                currency=currency,
                properties={"order_id": order_id},
                **people,
            )
        )
    return records


def map_customer(customer: dict) -> list[EventRecord]:
    """A customer (REST/webhook shape) -> one sign_up event keyed by the customer id."""
    customer_id = numeric_id(customer.get("id"))
    if not customer_id:
        raise Rejection("customer id is missing.")
    if not customer.get("created_at"):
        raise Rejection("customer created_at is missing.")
    properties = {"orders_count": customer.get("orders_count"), "state": clip(customer.get("state"))}
    if customer.get("total_spent") not in (None, ""):
        properties["total_spent"] = str(parse_money(customer["total_spent"], what="total_spent"))
    return [
        EventRecord(
            external_id=f"customer:{customer_id}",
            event_type="sign_up",
            raw_name="customer",
            occurred_at=parse_time(customer["created_at"]),
            properties=properties,
            **_customer_fields(customer),
        )
    ]


def map_pixel_event(item: dict, *, received_at: datetime) -> list[EventRecord]:
    """A storefront event in the flat shape of our dummy generator / web pixel: eventName, customerId, productId..."""
    name = item.get("eventName")
    if name in ORDER_TOPICS or name == "refund":
        order = {
            "id": item.get("orderId"),
            "created_at": item.get("timestamp"),
            "currency": item.get("currency"),
            "total_price": item.get("totalPrice"),
            "email": item.get("customerEmail"),
            "client_details": {"user_agent": item.get("userAgent")} if item.get("userAgent") else None,
            "customer": {
                "id": item.get("customerId"),
                "email": item.get("customerEmail"),
                "first_name": item.get("customerFirstName"),
                "last_name": item.get("customerLastName"),
            },
            "line_items": [
                {
                    "product_id": line.get("productId"),
                    "title": line.get("productTitle"),
                    "price": line.get("productPrice"),
                    "quantity": line.get("quantity"),
                }
                for line in item.get("lineItems") or [item]
            ],
        }
        if name == "refund":
            order["refunds"] = [
                {
                    "id": item.get("refundId"),
                    "created_at": item.get("timestamp"),
                    "total_refunded": item.get("totalPrice"),
                }
            ]
            return map_order(order, topic=name)[1:]
        return map_order(order, topic=name)
    if name == "customer":
        return map_customer(
            {
                "id": item.get("customerId"),
                "email": item.get("customerEmail"),
                "first_name": item.get("customerFirstName"),
                "last_name": item.get("customerLastName"),
                "created_at": item.get("timestamp"),
            }
        )
    if not isinstance(name, str) or not name:
        raise Rejection("eventName is missing.")
    occurred_at = parse_time(item["timestamp"]) if item.get("timestamp") else received_at
    people = _customer_fields({"id": item.get("customerId")}, item.get("customerEmail") or "")
    properties = {key: item[key] for key in ("pageUrl", "searchTerm", "userAgent") if item.get(key)}
    if item.get("productId"):
        properties["items"] = [
            {
                "item_id": str(item["productId"]),
                "item_name": clip(item.get("productTitle")),
                "price": str(parse_money(item.get("productPrice")) or "0.00"),
                "quantity": int(item.get("quantity") or 1),
            }
        ]
    price = parse_money(item.get("productPrice"))
    quantity = int(item.get("quantity") or 1)
    event_id = item.get("eventId") or content_hash(name, people["customer_key"], occurred_at.isoformat(), properties)
    return [
        EventRecord(
            external_id=clip(f"{name}:{event_id}"),
            event_type=PIXEL_TYPES.get(name, "custom"),
            raw_name=clip(name, 100),
            occurred_at=occurred_at,
            anonymous_id=clip(item.get("clientId")),
            session_id=clip(item.get("sessionId")),
            value=price * quantity if price is not None else None,
            currency=parse_currency(item.get("currency")),
            properties=properties,
            **people,
        )
    ]


def iter_items(payload) -> Iterator[tuple[str, dict]]:
    """Any Shopify document -> (kind, object): REST lists, a webhook capture `{headers, body, topic}`, one object."""
    if isinstance(payload, list):
        for entry in payload:
            yield from iter_items(entry)
        return
    if not isinstance(payload, dict):
        yield "unknown", payload
        return
    if "body" in payload and "topic" in payload:
        yield payload["topic"], payload["body"]
    elif isinstance(payload.get("orders"), list):
        for order in payload["orders"]:
            yield "order", order
    elif isinstance(payload.get("customers"), list):
        for customer in payload["customers"]:
            yield "customer", customer
    elif "order" in payload and isinstance(payload["order"], dict):
        yield "order", payload["order"]
    elif "customer" in payload and isinstance(payload["customer"], dict) and "line_items" not in payload:
        yield "customer", payload["customer"]
    else:
        yield "item", payload


def map_item(item, *, received_at: datetime, topic: str = "") -> list[EventRecord]:
    """One Shopify object (order, customer, refund, storefront event) -> common records; raises Rejection."""
    if isinstance(item, tuple):
        topic, item = item
    if not isinstance(item, dict):
        raise Rejection("each Shopify object must be a JSON object.")
    if topic in ORDER_TOPICS or (topic in ("", "item") and "line_items" in item):
        return map_order(item, topic=topic or "order")
    if topic in ("customers/create", "customers/update", "customer") or (
        topic in ("", "item") and "orders_count" in item
    ):
        return map_customer(item)
    if topic == "refunds/create":
        return [
            EventRecord(
                external_id=f"refund:{numeric_id(item.get('id'))}",
                event_type="refund",
                raw_name=topic,
                occurred_at=parse_time(item.get("created_at") or received_at.isoformat()),
                value=parse_money(sum(parse_money(t.get("amount")) or 0 for t in item.get("transactions") or [])),
                properties={"order_id": numeric_id(item.get("order_id"))},
            )
        ]
    if topic == "checkouts/create":
        token = item.get("token") or item.get("id")
        if not token:
            raise Rejection("checkout token is missing.")
        people = _customer_fields(item.get("customer"), item.get("email") or "")
        return [
            EventRecord(
                external_id=f"checkout:{token}",
                event_type="begin_checkout",
                raw_name=topic,
                occurred_at=parse_time(item.get("created_at") or received_at.isoformat()),
                anonymous_id=clip(item.get("cart_token")),
                value=parse_money(item.get("total_price")),
                currency=parse_currency(item.get("currency")),
                properties={"items": _line_items(item)},
                **people,
            )
        ]
    if "eventName" in item:
        return map_pixel_event(item, received_at=received_at)
    if topic not in ("", "item"):
        return [
            EventRecord(
                external_id=content_hash(topic, item.get("id"), item.get("updated_at")),
                event_type="custom",
                raw_name=clip(topic, 100),
                occurred_at=received_at,
                properties={"topic": topic, "id": numeric_id(item.get("id"))},
            )
        ]
    raise Rejection("not a Shopify order, customer or storefront event.")
