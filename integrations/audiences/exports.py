"""A saved audience's members as files: CSV, hashed identifiers (Meta's customer-file columns), Klaviyo, Mailchimp.

Streamed in batches of `EXPORT_BATCH` customers, so a large audience never sits in memory.
"""

import csv
import io
from collections.abc import Iterator

from django.db.models import QuerySet

from accounts.models import User
from accounts.policy import policy_require
from integrations.analysis.audiences import CONTACT_COLUMNS, EXPORT_BATCH, csv_safe, email_normalize
from integrations.audiences_out import customer_hashed_row
from integrations.models import Customer

from .models import Audience
from .selectors import audience_customers

EXPORT_FORMATS = ("csv", "hashed", "klaviyo", "mailchimp")
CSV_COLUMNS = [
    "customer_key",
    "email",
    "first_name",
    "last_name",
    "orders",
    "revenue",
    "events",
    "first_seen_at",
    "last_seen_at",
]
HASHED_COLUMNS = ["email", "fn", "ln"]


class _Lines:
    """A csv.writer whose rows are collected and handed out as text."""

    def __init__(self):
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate(0)
        return text


def _batches(customers: QuerySet[Customer]) -> Iterator[list[Customer]]:
    batch = []
    for customer in customers.iterator(chunk_size=EXPORT_BATCH):
        batch.append(customer)
        if len(batch) == EXPORT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def audience_export(*, user: User, audience: Audience, export_format: str) -> Iterator[str]:
    """The audience's members as a file (editors and up: exports of customer data, DESIGN §3); asked before the
    first line is produced, since the file streams."""
    policy_require(user=user, workspace=audience.workspace_id, action="customers.export")
    return audience_export_lines(
        audience=audience, customers=audience_customers(audience=audience), export_format=export_format
    )


def audience_export_lines(*, audience: Audience, customers: QuerySet[Customer], export_format: str) -> Iterator[str]:
    """The file's text in pieces: a header line, then one piece per batch of customers."""
    lines = _Lines()
    if export_format == "csv":
        lines.writer.writerow(CSV_COLUMNS)
    elif export_format == "hashed":
        lines.writer.writerow(HASHED_COLUMNS)
    else:
        lines.writer.writerow(CONTACT_COLUMNS[export_format])
    yield lines.take()
    seen: set[str] = set()  # hashed and contact files hold each person once
    for batch in _batches(customers):
        for customer in batch:
            row = _row(audience, customer, export_format, seen)
            if row is not None:
                lines.writer.writerow(row)
        yield lines.take()


def _row(audience: Audience, customer: Customer, export_format: str, seen: set[str]) -> list | None:
    if export_format == "csv":
        return [
            csv_safe(customer.customer_key),
            csv_safe(customer.email),
            csv_safe(customer.first_name),
            csv_safe(customer.last_name),
            customer.purchase_count,
            f"{customer.total_value:.2f}",
            customer.event_count,
            customer.first_seen_at.isoformat(),
            customer.last_seen_at.isoformat(),
        ]
    if export_format == "hashed":
        row = customer_hashed_row(
            email=customer.email,
            email_sha256=customer.email_sha256,
            first_name=customer.first_name,
            last_name=customer.last_name,
        )
        if row is None or row[0] in seen:
            return None
        seen.add(row[0])
        return row
    email = email_normalize(customer.email)
    if "@" not in email or email in seen:
        return None
    seen.add(email)
    names = [csv_safe(email), csv_safe(customer.first_name), csv_safe(customer.last_name)]
    if export_format == "klaviyo":
        last_seen = customer.last_seen_at.date().isoformat()
        return [*names, audience.name, customer.purchase_count, f"{customer.total_value:.2f}", last_seen]
    return [*names, audience.name]
