"""Segments as audiences: the customers of one segment, why each is in it, and the CSV / Meta exports."""

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from django.db.models import F, QuerySet

from accounts.policy import policy_require
from accounts.selectors import workspace_current_for_user
from integrations.models import Customer
from marketing_ai.errors import NotFound

from .queries import SEGMENTS, customer_days_in, customer_details
from .selectors import analysis_period, money, source_for_analysis

EXPORT_BATCH = 2000

CSV_COLUMNS = [
    "customer_key",
    "email",
    "first_name",
    "last_name",
    "events",
    "event_types",
    "page_views",
    "add_to_cart",
    "begin_checkout",
    "purchases",
    "purchase_value",
    "first_seen_at",
    "last_seen_at",
    "reason",
]


def segment_rule_get(*, name: str):
    """The segment's rule; NotFound for a name that is not one of the six segments."""
    if name not in SEGMENTS:
        raise NotFound(f"Unknown segment {name!r}.")
    return SEGMENTS[name]


def segment_customer_list(
    *,
    workspace,
    name: str,
    date_from: date | None = None,
    date_to: date | None = None,
    source_id: int | None = None,
) -> QuerySet:
    """Per-customer aggregate rows (dicts) of the customers the segment's rule selects, from the rollups.

    Ordered by purchase value for the buyer segments and by recency for the others; lazy, so callers paginate.
    Money fields are in cents (`purchase_cents`, `cart_cents`).
    """
    rule = segment_rule_get(name=name)
    period = analysis_period(workspace=workspace, date_from=date_from, date_to=date_to)
    source_for_analysis(workspace=workspace, source_id=source_id)
    rows = customer_details(customer_days_in(workspace=workspace, period=period, source_id=source_id))
    rows = rows.filter(rule.condition(threshold=workspace.high_value_threshold))
    if name in ("high_value_customers", "repeat_customers"):
        return rows.order_by(F("purchase_cents").desc(), "customer_key")
    return rows.order_by(F("last_seen_at").desc(), "customer_key")


def segment_members_describe(*, workspace, name: str, rows: Iterable[dict]) -> list[dict]:
    """Attach each row's customer profile (one query per call) and the evidence that puts it in the segment."""
    rows = list(rows)
    profiles = Customer.objects.filter(workspace=workspace).in_bulk([row["customer_id"] for row in rows])
    threshold = workspace.high_value_threshold
    members = []
    for row in rows:
        profile = profiles.get(row["customer_id"])
        why = segment_evidence(name=name, row=row, threshold=threshold)
        members.append(
            {
                "customerKey": row["customer_key"],
                "customerId": profile.id if profile else None,
                "email": profile.email if profile else "",
                "firstName": profile.first_name if profile else "",
                "lastName": profile.last_name if profile else "",
                "events": row["events"],
                "firstSeenAt": row["first_seen_at"],
                "lastSeenAt": row["last_seen_at"],
                "why": why,
                "reason": segment_reason(name=name, why=why),
            }
        )
    return members


def cents_money(cents) -> str:
    return money(Decimal(cents or 0) / 100)


def segment_evidence(*, name: str, row: dict, threshold) -> dict:
    """The aggregates the segment's rule read for this customer (camelCase, JSON-ready)."""
    if name in ("cart_abandoners", "potential_customers"):
        return {
            "addToCart": row["add_to_cart"],
            "beginCheckout": row["begin_checkout"],
            "purchases": row["purchases"],
            "cartValue": cents_money(row["cart_cents"]),
            "lastAddToCartAt": row["last_add_to_cart_at"],
        }
    if name == "high_value_customers":
        return {
            "purchases": row["purchases"],
            "purchaseValue": cents_money(row["purchase_cents"]),
            "threshold": money(threshold),
        }
    if name == "new_visitors":
        return {"pageViews": row["page_views"], "distinctEventTypes": row["event_types"]}
    if name == "engaged_users":
        return {"distinctEventTypes": row["event_types"], "events": row["events"]}
    return {
        "purchases": row["purchases"],
        "purchaseValue": cents_money(row["purchase_cents"]),
        "lastPurchaseAt": row["last_purchase_at"],
    }


def segment_reason(*, name: str, why: dict) -> str:
    """One sentence a marketer can read, built from the evidence."""
    if name == "cart_abandoners":
        return f"Added to cart {why['addToCart']} time(s) and never purchased."
    if name == "potential_customers":
        return (
            f"Added to cart {why['addToCart']} time(s) and began checkout {why['beginCheckout']} time(s) "
            "without purchasing."
        )
    if name == "high_value_customers":
        return f"Spent {why['purchaseValue']} over {why['purchases']} purchase(s), above {why['threshold']}."
    if name == "new_visitors":
        return f"Viewed {why['pageViews']} page(s) and did nothing else."
    if name == "engaged_users":
        return f"{why['distinctEventTypes']} different event types over {why['events']} events."
    return f"Purchased {why['purchases']} times for {why['purchaseValue']}."


def _batched(rows: QuerySet) -> Iterator[list[dict]]:
    batch = []
    for row in rows.iterator(chunk_size=EXPORT_BATCH):
        batch.append(row)
        if len(batch) == EXPORT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def segment_csv_lines(*, workspace, name: str, rows: QuerySet) -> Iterator[str]:
    """The whole segment as CSV text, streamed in batches (one profile query per batch of 2,000)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for batch in _batched(rows):
        for member, row in zip(
            segment_members_describe(workspace=workspace, name=name, rows=batch), batch, strict=True
        ):
            writer.writerow(
                [
                    csv_safe(member["customerKey"]),
                    csv_safe(member["email"]),
                    csv_safe(member["firstName"]),
                    csv_safe(member["lastName"]),
                    row["events"],
                    row["event_types"],
                    row["page_views"],
                    row["add_to_cart"],
                    row["begin_checkout"],
                    row["purchases"],
                    cents_money(row["purchase_cents"]),
                    row["first_seen_at"].isoformat(),
                    row["last_seen_at"].isoformat(),
                    member["reason"],
                ]
            )
        yield flush()


def csv_safe(text: str) -> str:
    """Neutralise spreadsheet formulas in values that come from tracked data (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# Column headers the e-mail tools recognise on import without manual mapping.
CONTACT_COLUMNS = {
    "klaviyo": ["Email", "First Name", "Last Name", "Segment", "Orders", "Total Spent", "Last Seen"],
    "mailchimp": ["Email Address", "First Name", "Last Name", "Tags"],
}


def segment_contact_lines(*, workspace, name: str, rows: QuerySet, tool: str) -> Iterator[str]:
    """A contact import file for Klaviyo or Mailchimp: customers with a known e-mail address, one per address.

    Klaviyo keeps the extra columns as profile properties; Mailchimp applies `Tags` (the segment) on import.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CONTACT_COLUMNS[tool])
    seen: set[str] = set()
    for batch in _batched(rows):
        by_key = {row["customer_key"]: row for row in batch}
        profiles = Customer.objects.filter(workspace=workspace, customer_key__in=list(by_key)).exclude(email="")
        for profile in profiles.order_by("customer_key"):
            email = email_normalize(profile.email)
            if email in seen or "@" not in email:
                continue
            seen.add(email)
            row = by_key[profile.customer_key]
            names = [csv_safe(email), csv_safe(profile.first_name), csv_safe(profile.last_name)]
            if tool == "klaviyo":
                spent = cents_money(row["purchase_cents"])
                writer.writerow([*names, name, row["purchases"], spent, row["last_seen_at"].date().isoformat()])
            else:
                writer.writerow([*names, name])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
    if buffer.getvalue():
        yield buffer.getvalue()


def email_normalize(email: str) -> str:
    """Meta custom audiences: trim leading/trailing whitespace and lower-case before hashing."""
    return email.strip().lower()


def email_sha256(email: str) -> str:
    return hashlib.sha256(email_normalize(email).encode("utf-8")).hexdigest()


def segment_meta_audience_lines(*, workspace, rows: QuerySet) -> Iterator[str]:
    """A Meta custom-audience file: header `email`, one SHA-256 of a normalized e-mail per line, no duplicates.

    Uses `Customer.email` when known, else the stored `email_sha256`; customers without either are left out.
    """
    yield "email\n"
    seen: set[str] = set()
    for batch in _batched(rows):
        ids = [row["customer_id"] for row in batch]
        profiles = Customer.objects.filter(workspace=workspace, id__in=ids).values_list("email", "email_sha256")
        lines = []
        for email, hashed in profiles:
            digest = email_sha256(email) if email.strip() else hashed.strip().lower()
            if len(digest) == 64 and digest not in seen:
                seen.add(digest)
                lines.append(digest + "\n")
        if lines:
            yield "".join(lines)


def segment_export_lines(*, user, name: str, filters: dict, tool: str = "csv") -> tuple[Iterator[str], str]:
    """The segment of the user's workspace as a file (editors and up: exports of customer data, DESIGN §3):
    `csv` (every column), `klaviyo` / `mailchimp` (contact imports) or `meta` (hashed e-mails); with its name."""
    workspace = workspace_current_for_user(user=user)
    policy_require(user=user, workspace=workspace, action="customers.export")
    segment_rule_get(name=name)
    rows = segment_customer_list(workspace=workspace, name=name, **filters)
    if tool == "meta":
        return segment_meta_audience_lines(workspace=workspace, rows=rows), f"{name}-meta-audience.csv"
    if tool in CONTACT_COLUMNS:
        return segment_contact_lines(workspace=workspace, name=name, rows=rows, tool=tool), f"{name}-{tool}.csv"
    return segment_csv_lines(workspace=workspace, name=name, rows=rows), f"{name}.csv"
