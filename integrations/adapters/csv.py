"""CSV uploads of orders or events, mapped by column (the mapping is guessed from the header, and overridable)."""

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from integrations.pipeline.schema import (
    EVENT_TYPES,
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

# canonical field -> header names we recognise (lower-case, spaces/dashes as underscores)
FIELD_ALIASES = {
    "external_id": ["external_id", "event_id", "order_id", "order_number", "transaction_id", "id", "name"],
    "event_type": ["event_type", "event", "type", "event_name"],
    "occurred_at": ["occurred_at", "timestamp", "created_at", "date", "time", "processed_at", "order_date"],
    "customer_id": ["customer_id", "user_id", "customer", "client_id"],
    "email": ["email", "customer_email", "e_mail"],
    "first_name": ["first_name", "firstname", "billing_first_name"],
    "last_name": ["last_name", "lastname", "billing_last_name"],
    "value": ["value", "total", "total_price", "amount", "revenue", "price"],
    "currency": ["currency", "currency_code"],
    "product_id": ["product_id", "sku", "item_id", "lineitem_sku"],
}
MAPPABLE_FIELDS = tuple(FIELD_ALIASES)
MAX_ROWS_PREVIEW = 10


def _norm(header: str) -> str:
    return header.strip().lower().replace(" ", "_").replace("-", "_")


def mapping_guess(headers: list[str]) -> dict[str, str]:
    """The column to use for each field, from the header names."""
    by_norm = {_norm(header): header for header in headers}
    mapping = {}
    for field_name, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            if alias in by_norm and by_norm[alias] not in mapping.values():
                mapping[field_name] = by_norm[alias]
                break
    return mapping


def rows_iter(text_stream: io.TextIOBase) -> tuple[list[str], Iterator[dict]]:
    """A CSV text stream -> (headers, row dicts), streamed."""
    reader = csv.DictReader(text_stream)
    headers = [header for header in (reader.fieldnames or []) if header is not None]
    return headers, iter(reader)


def make_mapper(mapping: dict[str, str]):
    """A row mapper bound to a column mapping; raises Rejection per bad row."""

    def map_row(row: dict, *, received_at: datetime) -> list[EventRecord]:
        def get(field_name: str) -> str:
            column = mapping.get(field_name)
            return (row.get(column) or "").strip() if column else ""

        if None in row:
            raise Rejection("the row has more cells than the header.")
        raw_type = get("event_type")
        event_type = _norm(raw_type) if raw_type else "purchase"
        if event_type == "order":
            event_type = "purchase"
        raw_name = raw_type or "csv_row"
        if event_type not in EVENT_TYPES:
            event_type = "custom"
        if not get("occurred_at"):
            raise Rejection("the date/time cell is empty.")
        occurred_at = parse_time(get("occurred_at"))
        email = get("email").lower()
        if email and "@" not in email:
            raise Rejection(f"{email[:40]!r} is not an e-mail address.")
        customer_key = customer_key_for(user_id=get("customer_id") or None, email=email)
        properties = {"row": {key: clip(value, 200) for key, value in row.items() if key}}
        if get("product_id"):
            properties["items"] = [{"item_id": get("product_id")}]
        external = get("external_id")
        external_id = f"{event_type}:{external}" if external else content_hash(sorted(properties["row"].items()))
        return [
            EventRecord(
                external_id=clip(external_id),
                event_type=event_type,
                raw_name=clip(raw_name, 100),
                occurred_at=occurred_at,
                customer_key=customer_key,
                value=parse_money(get("value")),
                currency=parse_currency(get("currency")),
                properties=properties,
                email=clip(email, 254),
                email_sha256=email_hash(email),
                first_name=clip(get("first_name"), 150),
                last_name=clip(get("last_name"), 150),
            )
        ]

    return map_row
