"""The common event record every adapter maps to (DESIGN §5), plus the shared normalizers."""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from marketing_ai.text import json_is_storable, json_storable, storable_text, text_is_storable

EVENT_TYPES = frozenset(
    {
        "page_view",
        "view_item",
        "search",
        "add_to_cart",
        "remove_from_cart",
        "begin_checkout",
        "add_payment_info",
        "purchase",
        "refund",
        "sign_up",
        "lead",
        "custom",
    }
)
MAX_EXTERNAL_ID = 255


class Rejection(Exception):
    """A single raw event that cannot be mapped; `reason` is shown to the sender."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class EventRecord:
    external_id: str
    event_type: str
    occurred_at: datetime
    raw_name: str = ""
    customer_key: str = ""
    anonymous_id: str = ""
    session_id: str = ""
    value: Decimal | None = None
    currency: str = ""
    properties: dict = field(default_factory=dict)
    email: str = ""
    email_sha256: str = ""
    first_name: str = ""
    last_name: str = ""


_MONEY_LIMIT, _CENT = Decimal("1e12"), Decimal("0.01")


def parse_money(value, *, what: str = "value") -> Decimal | None:
    """Money arrives as strings or numbers; parse as Decimal with 2 places, reject garbage."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Rejection(f"{what} must be a number.")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Rejection(f"{what} must be a number.") from exc
    if not amount.is_finite() or abs(amount) >= _MONEY_LIMIT:
        raise Rejection(f"{what} is out of range.")
    return amount.quantize(_CENT)


def parse_currency(value) -> str:
    if value in (None, ""):
        return ""
    text = str(value).strip().upper()
    if len(text) != 3 or not text.isalpha():
        raise Rejection(f"currency must be an ISO 4217 code, got {str(value)[:20]!r}.")
    return text


def parse_time(value, *, unit: str = "iso") -> datetime:
    """Provider timestamps (ISO 8601, Unix seconds, milliseconds or microseconds) -> aware UTC datetime."""
    try:
        if unit == "iso" and isinstance(value, str):
            text = value.strip().replace("Z", "+00:00")
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        number = float(value)
        divisor = {"s": 1, "ms": 1_000, "us": 1_000_000}.get(unit, 1)
        if unit == "iso":  # a number where ISO was expected: guess the unit by magnitude
            divisor = 1_000_000 if number > 1e14 else 1_000 if number > 1e11 else 1
        return datetime.fromtimestamp(number / divisor, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise Rejection(f"timestamp {str(value)[:40]!r} is not a valid time.") from exc


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def email_hash(email: str) -> str:
    normalized = normalize_email(email)
    return hashlib.sha256(normalized.encode()).hexdigest() if normalized else ""


_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def is_sha256(value: str) -> bool:
    return len(value) == 64 and _SHA256_HEX.fullmatch(value) is not None


def customer_key_for(*, user_id=None, email: str = "", email_sha256: str = "") -> str:
    """user id / external id / customer id first, else the hashed e-mail (DESIGN §5)."""
    if user_id not in (None, ""):
        return str(user_id).strip()[:MAX_EXTERNAL_ID]
    if email:
        return "email:" + email_hash(email)
    if email_sha256:
        return "email:" + email_sha256.strip().lower()
    return ""


def content_hash(*parts) -> str:
    """A stable id for events that arrive without one: the hash of their canonical content."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return "h:" + hashlib.sha256(blob.encode()).hexdigest()[:40]


def clip(value, limit: int = 255) -> str:
    return "" if value is None else str(value)[:limit]


_TEXT_FIELDS = (
    "external_id",
    "raw_name",
    "customer_key",
    "anonymous_id",
    "session_id",
    "currency",
    "email",
    "email_sha256",
    "first_name",
    "last_name",
)


def record_make_storable(record: EventRecord) -> None:
    """Apply `storable_text` to every string of the record, properties included, so one event with a stray NUL or
    broken emoji neither sinks its batch nor reads differently on PostgreSQL and SQLite."""
    texts = [getattr(record, name) or "" for name in _TEXT_FIELDS]
    if text_is_storable("".join(texts)) and json_is_storable(record.properties):
        return
    for name, value in zip(_TEXT_FIELDS, texts, strict=True):
        if not text_is_storable(value):
            setattr(record, name, storable_text(value))
    record.properties = json_storable(record.properties)
