"""Rollups: the events pre-aggregated per day, which the analysis reads instead of raw events (DESIGN §9).

Three tables (integrations/models.py): `EventRollup` (workspace, source, day, type, currency: events and value),
`CustomerDayRollup` (workspace, customer, day, source: type mask, counts, purchase and cart value, times) and
`PurchaseRollup` (purchases per value, for the estimated high-value count). They change in the transaction
that stores the events they count, from the rows actually inserted, so a re-delivered or retried batch adds
nothing twice: on PostgreSQL inside the store statement (`pipeline/store.py`), elsewhere through
`rollups_add` below. `rollups_recompute` rebuilds them (and the customers' totals) from the stored events.

Days are calendar days in the workspace's analysis time zone (`AnalysisSettings`, UTC by default), not UTC
days: a UTC day cannot be split into the days of UTC+5:30 or of a zone with daylight saving time, while a
day in the workspace's own zone answers every range of its analysis exactly with one row per day (hourly
buckets would not: India, Nepal and parts of Australia are 30 or 45 minutes off the hour). Changing the zone
rebuilds the rollups (`analysis_time_zone_set`).

Concurrency (PostgreSQL): every store takes a shared advisory lock of its workspace before its rollup
statement; a rebuild or a zone change takes it exclusively, so it waits for the stores in flight to commit
and no store runs while it rebuilds. Stores of one workspace never wait for each other on it.
"""

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db import connection, transaction
from django.db.models import Case, Count, F, When
from django.db.models.lookups import GreaterThan

from .models import AnalysisSettings, Customer, CustomerDayRollup, DataSource, Event, EventRollup, PurchaseRollup

DEFAULT_TIME_ZONE = "UTC"
PURCHASE, PAGE_VIEW, ADD_TO_CART, BEGIN_CHECKOUT = "purchase", "page_view", "add_to_cart", "begin_checkout"

# One bit per canonical event type: a customer's type mask is the OR of its events' bits.
TYPE_BITS = {event_type: 1 << position for position, event_type in enumerate(Event.EventType.values)}
assert all(event_type.replace("_", "").isalpha() for event_type in TYPE_BITS)  # inlined in TYPE_BIT_SQL
TYPE_BIT_SQL = (
    "CASE event_type "
    + " ".join(f"WHEN '{event_type}' THEN {bit}" for event_type, bit in TYPE_BITS.items())
    + " ELSE 0 END"
)

# An arbitrary namespace for the workspace's rollup lock among the database's advisory locks.
_LOCK_NAMESPACE = 0x524F4C4C << 32  # "ROLL"


def rollup_lock_sql(workspace_id: int, *, exclusive: bool = False) -> str:
    """The statement that takes the workspace's rollup lock until the transaction ends (PostgreSQL)."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    return f"SELECT {function}({_LOCK_NAMESPACE | int(workspace_id)})"


def analysis_time_zone(*, workspace_id: int) -> str:
    """The IANA name of the time zone the workspace's analysis days (and rollups) are in."""
    zone = AnalysisSettings.objects.filter(workspace_id=workspace_id).values_list("time_zone", flat=True).first()
    return zone or DEFAULT_TIME_ZONE


def time_zone_valid(name: str) -> bool:
    return name in zoneinfo.available_timezones()


# --- Maintenance on ingest, for databases without the PostgreSQL statement ----------------------------------


def rollups_add(*, source: DataSource, records: list, customer_ids: dict[str, int]) -> None:
    """Add newly stored records (`EventRecord`s) to the rollups; the caller's transaction holds the write lock.

    `customer_ids` maps the records' customer keys to their customers' ids (upserted just before).
    """
    if not records:
        return
    zone = zoneinfo.ZoneInfo(analysis_time_zone(workspace_id=source.workspace_id))
    events: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    purchases: dict[tuple, int] = defaultdict(int)
    days: dict[tuple, dict] = {}
    for r in records:
        day = r.occurred_at.astimezone(zone).date()
        cents = _cents(r.value)
        identified = bool(r.customer_key)
        totals = events[(day, r.event_type, r.currency)]
        totals[0] += 1
        totals[1] += cents or 0
        totals[2] += identified
        totals[3] += (cents or 0) if identified else 0
        if r.event_type == PURCHASE and cents is not None:
            purchases[(day, cents)] += 1
        if identified:
            _day_add(days, (customer_ids[r.customer_key], day), r, cents)
    _event_rollups_add(source, events)
    _purchase_rollups_add(source, purchases)
    _customer_days_add(source, days)
    if days:
        from .daysets import daysets_forget

        daysets_forget(workspace_id=source.workspace_id, source_id=source.id, days={day for _id, day in days})


def _cents(value) -> int | None:
    return None if value is None else int(value * 100)


def _day_add(days: dict, key: tuple, record, cents: int | None) -> None:
    row = days.get(key)
    at, event_type = record.occurred_at, record.event_type
    if row is None:
        row = days[key] = {
            "events": 0,
            "type_mask": 0,
            "purchases": 0,
            "purchase_cents": 0,
            "page_views": 0,
            "add_to_cart": 0,
            "begin_checkout": 0,
            "cart_cents": 0,
            "first_at": at,
            "last_at": at,
            "last_add_to_cart_at": None,
            "last_purchase_at": None,
        }
    row["events"] += 1
    row["type_mask"] |= TYPE_BITS.get(event_type, 0)
    row["first_at"], row["last_at"] = min(row["first_at"], at), max(row["last_at"], at)
    if event_type == PURCHASE:
        row["purchases"] += 1
        row["purchase_cents"] += cents or 0
        row["last_purchase_at"] = _latest(row["last_purchase_at"], at)
    elif event_type == PAGE_VIEW:
        row["page_views"] += 1
    elif event_type == ADD_TO_CART:
        row["add_to_cart"] += 1
        row["cart_cents"] += cents or 0
        row["last_add_to_cart_at"] = _latest(row["last_add_to_cart_at"], at)
    elif event_type == BEGIN_CHECKOUT:
        row["begin_checkout"] += 1


def _latest(a, b):
    return b if a is None else a if b is None else max(a, b)


def _event_rollups_add(source: DataSource, totals: dict[tuple, list[int]]) -> None:
    days = {day for day, _type, _currency in totals}
    existing = {
        (row.day, row.event_type, row.currency): row
        for row in EventRollup.objects.filter(workspace_id=source.workspace_id, source=source, day__in=days)
    }
    created, updated = [], []
    for key, (events, cents, identified, identified_cents) in totals.items():
        row = existing.get(key)
        if row is None:
            day, event_type, currency = key
            row = EventRollup(
                workspace_id=source.workspace_id, source=source, day=day, event_type=event_type, currency=currency
            )
            created.append(row)
        else:
            updated.append(row)
        row.events += events
        row.value_cents += cents
        row.identified_events += identified
        row.identified_value_cents += identified_cents
    EventRollup.objects.bulk_create(created, batch_size=500)
    EventRollup.objects.bulk_update(
        updated, ["events", "value_cents", "identified_events", "identified_value_cents"], batch_size=500
    )


def _purchase_rollups_add(source: DataSource, purchases: dict[tuple, int]) -> None:
    if not purchases:
        return
    days = {day for day, _cents in purchases}
    existing = {
        (row.day, row.value_cents): row
        for row in PurchaseRollup.objects.filter(workspace_id=source.workspace_id, source=source, day__in=days)
    }
    created, updated = [], []
    for (day, cents), count in purchases.items():
        row = existing.get((day, cents))
        if row is None:
            created.append(
                PurchaseRollup(
                    workspace_id=source.workspace_id, source=source, day=day, value_cents=cents, purchases=count
                )
            )
        else:
            row.purchases += count
            updated.append(row)
    PurchaseRollup.objects.bulk_create(created, batch_size=500)
    PurchaseRollup.objects.bulk_update(updated, ["purchases"], batch_size=500)


_SUMMED = ("events", "purchases", "purchase_cents", "page_views", "add_to_cart", "begin_checkout", "cart_cents")


def _customer_days_add(source: DataSource, days: dict[tuple, dict]) -> None:
    if not days:
        return
    customer_ids = sorted({customer_id for customer_id, _day in days})
    existing: dict[tuple, CustomerDayRollup] = {}
    for start in range(0, len(customer_ids), 900):
        rows = CustomerDayRollup.objects.filter(
            workspace_id=source.workspace_id,
            source=source,
            customer_id__in=customer_ids[start : start + 900],
            day__in={day for _customer, day in days},
        )
        existing.update({(row.customer_id, row.day): row for row in rows})
    created, updated = [], []
    for (customer_id, day), values in days.items():
        row = existing.get((customer_id, day))
        if row is None:
            created.append(
                CustomerDayRollup(
                    workspace_id=source.workspace_id, source=source, customer_id=customer_id, day=day, **values
                )
            )
            continue
        for name in _SUMMED:
            setattr(row, name, getattr(row, name) + values[name])
        row.type_mask |= values["type_mask"]
        row.first_at, row.last_at = min(row.first_at, values["first_at"]), max(row.last_at, values["last_at"])
        row.last_add_to_cart_at = _latest(row.last_add_to_cart_at, values["last_add_to_cart_at"])
        row.last_purchase_at = _latest(row.last_purchase_at, values["last_purchase_at"])
        updated.append(row)
    CustomerDayRollup.objects.bulk_create(created, batch_size=500)
    CustomerDayRollup.objects.bulk_update(
        updated,
        [*_SUMMED, "type_mask", "first_at", "last_at", "last_add_to_cart_at", "last_purchase_at"],
        batch_size=500,
    )


# --- Rebuild from the stored events ---------------------------------------------------------------------------


def day_sql(zone_parameter: str = "%(zone)s") -> str:
    """The event's day in the analysis time zone, as SQL on this database."""
    if connection.vendor == "postgresql":
        return f"(occurred_at AT TIME ZONE {zone_parameter})::date"
    return f"django_datetime_cast_date(occurred_at, {zone_parameter}, 'UTC')"


def _mask_sql() -> str:
    """OR of the events' type bits: BIT_OR on PostgreSQL; SUM(DISTINCT bit) elsewhere (the same number, since
    every type has its own power of two)."""
    return f"bit_or({TYPE_BIT_SQL})"


CENTS_SQL = "CAST(ROUND(value * 100) AS BIGINT)"
RECOMPUTE_CUSTOMERS_MAX = 10_000  # past this many customers one workspace-wide recompute is cheaper than a key list


def _tables() -> dict[str, str]:
    return {
        "event": Event._meta.db_table,
        "customer": Customer._meta.db_table,
        "event_rollup": EventRollup._meta.db_table,
        "customer_day": CustomerDayRollup._meta.db_table,
        "purchase_rollup": PurchaseRollup._meta.db_table,
    }


def _customers_sql(subset: str) -> str:
    # `WHERE true` before ON CONFLICT: SQLite would otherwise read ON CONFLICT as a join constraint.
    return """
    INSERT INTO {customer} (workspace_id, customer_key, email, email_sha256, first_name, last_name,
        first_seen_at, last_seen_at, event_count, purchase_count, total_value, created_at, updated_at)
    SELECT workspace_id, customer_key, '', '', '', '', min(occurred_at), max(occurred_at), count(*),
        count(CASE WHEN event_type = 'purchase' THEN 1 END),
        coalesce(sum(CASE WHEN event_type = 'purchase' THEN {cents} END), 0) / 100.0, %(now)s, %(now)s
    FROM {event} WHERE workspace_id = %(workspace)s AND customer_key <> '' {subset}
    GROUP BY workspace_id, customer_key
    ON CONFLICT (workspace_id, customer_key) DO UPDATE SET
        first_seen_at = excluded.first_seen_at, last_seen_at = excluded.last_seen_at,
        event_count = excluded.event_count, purchase_count = excluded.purchase_count,
        total_value = excluded.total_value, updated_at = excluded.updated_at
    """.format(subset=subset, cents=CENTS_SQL, **_tables())


# CustomerDayRollup's columns, and a day's values for them from `events` on (`customer_day_values_sql`).
CUSTOMER_DAY_COLUMNS = (
    "workspace_id, customer_id, day, source_id, events, type_mask, purchases, purchase_cents, page_views, "
    "add_to_cart, begin_checkout, cart_cents, first_at, last_at, last_add_to_cart_at, last_purchase_at"
)


def customer_day_values_sql() -> str:
    """A customer day's rollup values, `events` to `last_purchase_at` in CUSTOMER_DAY_COLUMNS' order, as aggregates
    over the day's event rows (read by the events' column names)."""

    def count(event_type: str) -> str:
        return f"count(CASE WHEN event_type = '{event_type}' THEN 1 END)"

    def cents(event_type: str) -> str:
        return f"coalesce(sum(CASE WHEN event_type = '{event_type}' THEN {CENTS_SQL} END), 0)"

    def latest(event_type: str) -> str:
        return f"max(CASE WHEN event_type = '{event_type}' THEN occurred_at END)"

    return (
        f"count(*), {_mask_sql()}, {count(PURCHASE)}, {cents(PURCHASE)}, {count(PAGE_VIEW)}, {count(ADD_TO_CART)}, "
        f"{count(BEGIN_CHECKOUT)}, {cents(ADD_TO_CART)}, min(occurred_at), max(occurred_at), {latest(ADD_TO_CART)}, "
        f"{latest(PURCHASE)}"
    )


def customer_day_add_sql(*, least: str = "LEAST", greatest: str = "GREATEST") -> str:
    """The ON CONFLICT clause adding an inserted customer day into the stored row `r` (least/greatest: the
    dialect's two-argument min and max)."""

    # NULL-safe GREATEST: PostgreSQL's ignores NULLs, SQLite's max() returns NULL with one.
    def latest_of(column: str) -> str:
        return f"coalesce({greatest}(r.{column}, excluded.{column}), r.{column}, excluded.{column})"

    return f"""ON CONFLICT (workspace_id, customer_id, day, source_id) DO UPDATE SET
        events = r.events + excluded.events,
        type_mask = r.type_mask | excluded.type_mask,
        purchases = r.purchases + excluded.purchases,
        purchase_cents = r.purchase_cents + excluded.purchase_cents,
        page_views = r.page_views + excluded.page_views,
        add_to_cart = r.add_to_cart + excluded.add_to_cart,
        begin_checkout = r.begin_checkout + excluded.begin_checkout,
        cart_cents = r.cart_cents + excluded.cart_cents,
        first_at = {least}(r.first_at, excluded.first_at),
        last_at = {greatest}(r.last_at, excluded.last_at),
        last_add_to_cart_at = {latest_of("last_add_to_cart_at")},
        last_purchase_at = {latest_of("last_purchase_at")}"""


def _customer_days_sql(subset: str) -> str:
    return f"""
    INSERT INTO {{customer_day}} ({CUSTOMER_DAY_COLUMNS})
    SELECT e.workspace_id, c.id, {day_sql()}, e.source_id, {customer_day_values_sql()}
    FROM {{event}} e JOIN {{customer}} c ON c.workspace_id = e.workspace_id AND c.customer_key = e.customer_key
    WHERE e.workspace_id = %(workspace)s AND e.customer_key <> '' {subset}
    GROUP BY e.workspace_id, c.id, {day_sql()}, e.source_id
    """.format(**_tables())


def _event_rollups_sql() -> str:
    return f"""
    INSERT INTO {{event_rollup}} (workspace_id, source_id, day, event_type, currency, events, value_cents,
        identified_events, identified_value_cents)
    SELECT workspace_id, source_id, {day_sql()}, event_type, currency, count(*), coalesce(sum({CENTS_SQL}), 0),
        count(CASE WHEN customer_key <> '' THEN 1 END),
        coalesce(sum(CASE WHEN customer_key <> '' THEN {CENTS_SQL} END), 0)
    FROM {{event}} WHERE workspace_id = %(workspace)s
    GROUP BY workspace_id, source_id, {day_sql()}, event_type, currency
    """.format(**_tables())


def _purchase_rollups_sql() -> str:
    return f"""
    INSERT INTO {{purchase_rollup}} (workspace_id, source_id, day, value_cents, purchases)
    SELECT workspace_id, source_id, {day_sql()}, {CENTS_SQL}, count(*)
    FROM {{event}} WHERE workspace_id = %(workspace)s AND event_type = 'purchase' AND value IS NOT NULL
    GROUP BY workspace_id, source_id, {day_sql()}, {CENTS_SQL}
    """.format(**_tables())


def rollups_recompute(*, workspace_id: int, customer_keys: Iterable[str] | None = None) -> None:
    """Rebuild the workspace's rollups and customer totals from its stored events; idempotent.

    With `customer_keys`, only those customers: their totals (first/last seen, event and purchase counts and
    value) and their per-day rollups; a customer left without events is deleted. Without (or with more than
    RECOMPUTE_CUSTOMERS_MAX keys), the whole workspace, day totals included. Call it after deleting or re-keying
    events (a deleted source, retention, an identity merge or its undo). Waits for the workspace's stores in
    flight and holds new ones until it commits.
    """
    from django.utils import timezone

    from .daysets import daysets_forget, daysets_forget_of_customers
    from .window import window_forget, window_refresh

    keys = sorted(set(customer_keys)) if customer_keys is not None else None
    if keys == []:
        return
    if keys is not None and len(keys) > RECOMPUTE_CUSTOMERS_MAX:
        keys = None
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(rollup_lock_sql(workspace_id, exclusive=True))
        params = {"workspace": workspace_id, "zone": analysis_time_zone(workspace_id=workspace_id)}
        params["now"] = timezone.now()
        subset, customers = "", Customer.objects.filter(workspace_id=workspace_id)
        if keys is not None:
            params.update({f"key{n}": key for n, key in enumerate(keys)})
            subset = "AND customer_key IN (" + ", ".join(f"%(key{n})s" for n in range(len(keys))) + ")"
            customers = customers.filter(customer_key__in=keys)
            before = list(customers.values_list("id", flat=True))  # some may go: the window must drop them
        days = CustomerDayRollup.objects.filter(workspace_id=workspace_id)
        if keys is not None:  # the day sets of the days the customers had, and then have
            daysets_forget_of_customers(cursor, customers_sql=_customer_ids_sql(subset), params=params)
        days.filter(customer__in=customers).delete() if keys is not None else days.delete()
        customers.exclude(customer_key__in=_keys_with_events(workspace_id, keys)).delete()
        cursor.execute(_customers_sql(subset), params)
        cursor.execute(_customer_days_sql(subset.replace("customer_key", "e.customer_key")), params)
        if keys is None:
            daysets_forget(workspace_id=workspace_id)
            EventRollup.objects.filter(workspace_id=workspace_id).delete()
            PurchaseRollup.objects.filter(workspace_id=workspace_id).delete()
            cursor.execute(_event_rollups_sql(), params)
            cursor.execute(_purchase_rollups_sql(), params)
            window_forget(workspace_id=workspace_id)
        else:
            daysets_forget_of_customers(cursor, customers_sql=_customer_ids_sql(subset), params=params)
            after = customers.values_list("id", flat=True)
            window_refresh(cursor, workspace_id=workspace_id, customer_ids=[*before, *after])


def _customer_ids_sql(subset: str) -> str:
    """The ids of the workspace's customers of `subset` (rollups_recompute's key filter)."""
    return f"SELECT id FROM {Customer._meta.db_table} WHERE workspace_id = %(workspace)s {subset}"


def _keys_with_events(workspace_id: int, keys: list[str] | None):
    events = Event.objects.filter(workspace_id=workspace_id).exclude(customer_key="")
    if keys is not None:
        events = events.filter(customer_key__in=keys)
    return events.values("customer_key")


def analysis_time_zone_set(*, workspace_id: int, time_zone: str) -> AnalysisSettings:
    """Set the workspace's analysis time zone and rebuild its rollups in it, in one transaction."""
    from marketing_ai.errors import ApplicationError

    if not time_zone_valid(time_zone):
        raise ApplicationError("Some fields are invalid.", errors={"timeZone": ["Choose a time zone from the list."]})
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(rollup_lock_sql(workspace_id, exclusive=True))
        settings, _ = AnalysisSettings.objects.update_or_create(
            workspace_id=workspace_id, defaults={"time_zone": time_zone}
        )
        rollups_recompute(workspace_id=workspace_id)
    return settings


def customers_per_day(*, workspace_id: int, date_from: date, date_to: date, source_id: int | None = None) -> dict:
    """Distinct identified customers per (day, source, event type) in the range, exact: {(day, source, type): n}."""
    rows = CustomerDayRollup.objects.filter(workspace_id=workspace_id, day__gte=date_from, day__lte=date_to)
    if source_id is not None:
        rows = rows.filter(source_id=source_id)
    per_type = {
        event_type: Count(Case(When(GreaterThan(F("type_mask").bitand(bit), 0), then=1)))
        for event_type, bit in TYPE_BITS.items()
    }
    counts = {}
    for row in rows.values("day", "source_id").annotate(**per_type).order_by():
        for event_type in TYPE_BITS:
            if row[event_type]:
                counts[(row["day"], row["source_id"], event_type)] = row[event_type]
    return counts


def customer_days_vacuum() -> bool:
    """Mark the customer-day rollups' pages all-visible again after an import changed many of them (PostgreSQL,
    outside a transaction; returns whether it ran).

    The overview's custom ranges read the customer-ordered covering index alone (an index-only scan) only for
    pages the visibility map marks all-visible; every page a store changed since the last vacuum costs a visit of
    the table in customer order. Autovacuum comes only after a fifth of the table changed, so a job's end does it.
    Pages left all-visible are skipped, so the cost follows what the import changed; another vacuum of the
    table already running is not waited for.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (SKIP_LOCKED) {CustomerDayRollup._meta.db_table}")
    return True
