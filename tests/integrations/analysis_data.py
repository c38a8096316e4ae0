"""Builders for analysis tests: Event rows created directly with bulk_create (no pipeline), then the workspace's
customers and rollups rebuilt from them by the service the pipeline's repairs use (`rollups_recompute`)."""

import itertools
from datetime import UTC, date, datetime, time
from decimal import Decimal

from integrations.models import Customer, DataSource, Event
from integrations.rollups import rollups_recompute

FROM = date(2026, 3, 1)
TO = date(2026, 3, 30)
IN_RANGE = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

_ids = itertools.count(1)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def source_create(workspace, name: str = "Store", source_type: str = "shopify") -> DataSource:
    return DataSource.objects.create(workspace=workspace, name=name, source_type=source_type)


class Events:
    """Collects events, then stores them in one bulk_create: `Events(ws, src).add("c1", "purchase", "20").save()`."""

    def __init__(self, workspace, source):
        self.workspace, self.source, self.rows = workspace, source, []

    def add(self, customer: str, event_type: str, value=None, *, when: datetime = IN_RANGE, times: int = 1, **extra):
        for _ in range(times):
            self.rows.append(
                Event(
                    workspace=self.workspace,
                    source=extra.get("source", self.source),
                    external_id=f"e{next(_ids)}",
                    event_type=event_type,
                    customer_key=customer,
                    occurred_at=when,
                    received_at=when,
                    value=Decimal(str(value)) if value is not None else None,
                    currency=extra.get("currency", "EUR" if value is not None else ""),
                )
            )
        return self

    def save(self) -> list[Event]:
        events = Event.objects.bulk_create(self.rows)
        rollups_recompute(workspace_id=self.workspace.id)
        return events


def customer_create(workspace, key: str, email: str = "", email_sha256: str = "", **fields) -> Customer:
    """The customer's profile with these identity fields (the one `Events.save` made for its events, if any)."""
    customer, _ = Customer.objects.update_or_create(
        workspace=workspace,
        customer_key=key,
        defaults={"email": email, "email_sha256": email_sha256, **fields},
        create_defaults={
            "email": email,
            "email_sha256": email_sha256,
            "first_seen_at": IN_RANGE,
            "last_seen_at": IN_RANGE,
            **fields,
        },
    )
    return customer
