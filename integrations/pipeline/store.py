"""Bulk, idempotent store of mapped events, the set-based Customer upsert and the rollups (integrations/rollups.py).

PostgreSQL: psycopg 3 `COPY` into a temporary staging table, then one statement inserts the batch's keys into
`EventKey` (`ON CONFLICT DO NOTHING`: the unique (workspace, source, external_id) across every month), inserts
the events whose key was new into the month-partitioned events table, upserts the customers and adds to the
rollups from the rows actually inserted, so a re-delivered batch changes nothing, whatever time it carries now;
a second statement adds the batch to the default-range window (`window_add`).
Other databases: the keys already stored are read, then the new keys and events are bulk-created (the caller's
transaction holds SQLite's write lock), then the same customer and rollup changes computed in Python.
"""

import json
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from integrations import identity
from integrations.daysets import daysets_forget_sql
from integrations.models import (
    AnalysisSettings,
    Customer,
    CustomerDayRollup,
    DataSource,
    Event,
    EventKey,
    EventRollup,
    PurchaseRollup,
)
from integrations.rollups import TYPE_BIT_SQL, customer_day_add_sql, rollup_lock_sql, rollups_add
from integrations.window import WINDOW_DELTA_PREPARE, window_add, window_delta_sql, window_refresh
from marketing_ai.text import json_storable

from .schema import EventRecord

STAGE_COLUMNS = (
    "external_id text, event_type text, raw_name text, customer_key text, anonymous_id text, session_id text, "
    "occurred_at timestamptz, currency text, properties text, email text, email_sha256 text, first_name text, "
    "last_name text, value numeric, merge_id bigint"  # merge_id: set by identity stitching, never copied
)
# `value` comes last: it is the one column whose text form may be the NULL marker \\N (see stage_text).
COPY_COLUMNS = (
    "external_id, event_type, raw_name, customer_key, anonymous_id, session_id, occurred_at, currency, "
    "properties, email, email_sha256, first_name, last_name, value"
)
STAGE_PREPARE = (
    f"CREATE TEMP TABLE IF NOT EXISTS integ_stage ({STAGE_COLUMNS}) ON COMMIT DELETE ROWS; "
    "DELETE FROM integ_stage; "  # empty (and so free) unless a savepoint-wrapped caller staged rows already
    + WINDOW_DELTA_PREPARE
)
COPY_NULL = "\\N"
_properties_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": None})

_COUNT = "count(*) FILTER (WHERE event_type = '{}')"
_CENTS = "coalesce(sum(cents) FILTER (WHERE event_type = '{}'), 0)"
_LATEST = "max(occurred_at) FILTER (WHERE event_type = '{}')"

# The events and their customers: `keys` (the batch's new keys: the first staged row of each external id, in
# staging order, like the ORM path), `ins` (the rows actually inserted) and `up` (their customers' ids).
PG_EVENTS_AND_CUSTOMERS = f"""
first AS (
    SELECT DISTINCT ON (external_id) * FROM integ_stage ORDER BY external_id, ctid
), keys AS (
    INSERT INTO {EventKey._meta.db_table} (workspace_id, source_id, external_id, occurred_at)
    SELECT %(workspace)s, %(source)s, external_id, occurred_at FROM first
    ORDER BY external_id
    ON CONFLICT DO NOTHING
    RETURNING external_id
), ins AS (
    INSERT INTO {Event._meta.db_table} (workspace_id, source_id, external_id, event_type, raw_name, customer_key,
        anonymous_id, session_id, occurred_at, received_at, value, currency, properties)
    SELECT %(workspace)s, %(source)s, external_id, event_type, raw_name, customer_key, anonymous_id, session_id,
        occurred_at, %(received)s, value, currency, properties::jsonb
    FROM first JOIN keys USING (external_id)
    RETURNING customer_key, event_type, occurred_at, value, currency
), agg AS (
    SELECT customer_key, min(occurred_at) AS first_seen, max(occurred_at) AS last_seen, count(*) AS n,
        count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
        coalesce(sum(value) FILTER (WHERE event_type = 'purchase'), 0) AS total
    FROM ins WHERE customer_key <> '' GROUP BY customer_key
), ident AS (
    SELECT DISTINCT ON (customer_key) customer_key, email, email_sha256, first_name, last_name
    FROM integ_stage
    WHERE customer_key <> '' AND (email <> '' OR email_sha256 <> '' OR first_name <> '' OR last_name <> '')
    ORDER BY customer_key, (email <> '') DESC, occurred_at DESC
), up AS (
    INSERT INTO {Customer._meta.db_table} AS c (workspace_id, customer_key, email, email_sha256, first_name,
        last_name, first_seen_at, last_seen_at, event_count, purchase_count, total_value, created_at, updated_at)
    SELECT %(workspace)s, agg.customer_key, coalesce(ident.email, ''), coalesce(ident.email_sha256, ''),
        coalesce(ident.first_name, ''), coalesce(ident.last_name, ''), agg.first_seen, agg.last_seen, agg.n,
        agg.purchases, agg.total, %(received)s, %(received)s
    FROM agg LEFT JOIN ident USING (customer_key)
    ORDER BY agg.customer_key
    ON CONFLICT (workspace_id, customer_key) DO UPDATE SET
        email = CASE WHEN EXCLUDED.email <> '' THEN EXCLUDED.email ELSE c.email END,
        email_sha256 = CASE WHEN EXCLUDED.email_sha256 <> '' THEN EXCLUDED.email_sha256 ELSE c.email_sha256 END,
        first_name = CASE WHEN EXCLUDED.first_name <> '' THEN EXCLUDED.first_name ELSE c.first_name END,
        last_name = CASE WHEN EXCLUDED.last_name <> '' THEN EXCLUDED.last_name ELSE c.last_name END,
        first_seen_at = LEAST(c.first_seen_at, EXCLUDED.first_seen_at),
        last_seen_at = GREATEST(c.last_seen_at, EXCLUDED.last_seen_at),
        event_count = c.event_count + EXCLUDED.event_count,
        purchase_count = c.purchase_count + EXCLUDED.purchase_count,
        total_value = c.total_value + EXCLUDED.total_value,
        updated_at = EXCLUDED.updated_at
    RETURNING c.id, c.customer_key
)"""
# The rollups of the inserted rows (integrations/rollups.py), in the workspace's analysis time zone, and their
# additions to the customers' default-range window (integrations/window.py) from the batch's customer days
# (`day_adds`), applied after the window lock; the customer day sets of the days the batch adds to are deleted
# (integrations/daysets.py: a job builds them again).
PG_ROLLUPS = f"""
ev AS (
    SELECT customer_key, event_type, occurred_at, currency, (value * 100)::bigint AS cents,
        (occurred_at AT TIME ZONE coalesce(
            (SELECT time_zone FROM {AnalysisSettings._meta.db_table} WHERE workspace_id = %(workspace)s), 'UTC'
        ))::date AS day,
        {TYPE_BIT_SQL} AS bit
    FROM ins
), event_rollups AS (
    INSERT INTO {EventRollup._meta.db_table} AS r (workspace_id, source_id, day, event_type, currency, events,
        value_cents, identified_events, identified_value_cents)
    SELECT %(workspace)s, %(source)s, day, event_type, currency, count(*), coalesce(sum(cents), 0),
        count(*) FILTER (WHERE customer_key <> ''), coalesce(sum(cents) FILTER (WHERE customer_key <> ''), 0)
    FROM ev GROUP BY day, event_type, currency
    ORDER BY day, event_type, currency
    ON CONFLICT (workspace_id, day, source_id, event_type, currency) DO UPDATE SET
        events = r.events + EXCLUDED.events,
        value_cents = r.value_cents + EXCLUDED.value_cents,
        identified_events = r.identified_events + EXCLUDED.identified_events,
        identified_value_cents = r.identified_value_cents + EXCLUDED.identified_value_cents
    RETURNING 1
), day_adds AS (
    SELECT up.id AS customer_id, day, count(*) AS events, bit_or(bit) AS type_mask,
        {_COUNT.format("purchase")} AS purchases, {_CENTS.format("purchase")} AS purchase_cents,
        {_COUNT.format("page_view")} AS page_views, {_COUNT.format("add_to_cart")} AS add_to_cart,
        {_COUNT.format("begin_checkout")} AS begin_checkout, {_CENTS.format("add_to_cart")} AS cart_cents,
        min(occurred_at) AS first_at, max(occurred_at) AS last_at,
        {_LATEST.format("add_to_cart")} AS last_add_to_cart_at, {_LATEST.format("purchase")} AS last_purchase_at
    FROM ev JOIN up USING (customer_key)
    GROUP BY up.id, day
), customer_days AS (
    INSERT INTO {CustomerDayRollup._meta.db_table} AS r (workspace_id, customer_id, day, source_id, events,
        type_mask, purchases, purchase_cents, page_views, add_to_cart, begin_checkout, cart_cents, first_at,
        last_at, last_add_to_cart_at, last_purchase_at)
    SELECT %(workspace)s, customer_id, day, %(source)s, events, type_mask, purchases, purchase_cents, page_views,
        add_to_cart, begin_checkout, cart_cents, first_at, last_at, last_add_to_cart_at, last_purchase_at
    FROM day_adds
    ORDER BY customer_id, day
    {customer_day_add_sql()}
    RETURNING 1
), purchases AS (
    INSERT INTO {PurchaseRollup._meta.db_table} AS r (workspace_id, source_id, day, value_cents, purchases)
    SELECT %(workspace)s, %(source)s, day, cents, count(*)
    FROM ev WHERE event_type = 'purchase' AND cents IS NOT NULL
    GROUP BY day, cents
    ORDER BY day, cents
    ON CONFLICT (workspace_id, day, source_id, value_cents) DO UPDATE SET purchases = r.purchases + EXCLUDED.purchases
    RETURNING 1
), daysets_forgotten AS (
    {daysets_forget_sql("SELECT DISTINCT day, %(source)s::bigint FROM day_adds")}
), {window_delta_sql(customer_days="day_adds")}"""
# The CTEs run in the order the final SELECT reads them (events, customers, then each rollup), each in key order,
# so two concurrent stores of overlapping batches (a re-delivery while the first delivery is being stored) wait
# for each other's rows in the same order instead of deadlocking.
PG_INSERT = f"""
WITH {PG_EVENTS_AND_CUSTOMERS}, {PG_ROLLUPS}
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM up), (SELECT count(*) FROM event_rollups),
    (SELECT count(*) FROM customer_days), (SELECT count(*) FROM purchases), (SELECT count(*) FROM window_delta),
    (SELECT threshold_cents FROM window_state)
"""


def stage_text(records: list[EventRecord]) -> str:
    """The records as COPY text rows of the staging table.

    One f-string per row is several times cheaper than adapting each value (`Copy.write_row`); the rare row with
    a backslash, tab, newline or NUL in its text is escaped field by field. Pure Python: the job runner builds
    the next batch's text in its prefetch thread while PostgreSQL stores the current one.
    """
    lines = []
    append = lines.append
    for r in records:
        head = (
            f"{r.external_id}\t{r.event_type}\t{r.raw_name}\t{r.customer_key}\t{r.anonymous_id}\t{r.session_id}\t"
            f"{r.occurred_at.isoformat()}\t{r.currency}\t{_properties_json(r.properties)}\t{r.email}\t"
            f"{r.email_sha256}\t{r.first_name}\t{r.last_name}"
        )
        if "\\" in head or "\n" in head or "\r" in head or "\x00" in head or head.count("\t") != 12:
            head = _head_escaped(r)
        append(f"{head}\t{COPY_NULL if r.value is None else r.value}\n")
    return "".join(lines)


def _head_escaped(r: EventRecord) -> str:
    fields = (
        r.external_id,
        r.event_type,
        r.raw_name,
        r.customer_key,
        r.anonymous_id,
        r.session_id,
        r.occurred_at.isoformat(),
        r.currency,
        _properties_json(json_storable(r.properties)),
        r.email,
        r.email_sha256,
        r.first_name,
        r.last_name,
    )
    return "\t".join(str(field).translate(_COPY_ESCAPES) for field in fields)


def events_store(
    *, source: DataSource, records: list[EventRecord], received_at: datetime | None = None, staged: str | None = None
) -> int:
    """Store the records once per (source, external_id) and update customers from new rows; returns rows inserted.

    `staged` is `stage_text(records)` when the caller built it already (PostgreSQL only).
    """
    if not records:
        return 0
    received_at = received_at or timezone.now()
    with transaction.atomic(savepoint=False):  # inside a caller's transaction (a job batch) no extra round trips
        if connection.vendor == "postgresql":
            return _store_postgres(source=source, records=records, received_at=received_at, staged=staged)
        return _store_orm(source=source, records=records, received_at=received_at)


def _store_postgres(*, source: DataSource, records: list[EventRecord], received_at: datetime, staged) -> int:
    text = stage_text(records) if staged is None else staged
    workspace_id, stitching, joins = source.workspace_id, identity.stitching_enabled(), False
    with connection.cursor() as cursor:
        cursor.execute(STAGE_PREPARE)
        with cursor.cursor.copy(f"COPY integ_stage ({COPY_COLUMNS}) FROM STDIN") as copy:  # the psycopg 3 cursor
            copy.write(text)
        if stitching:  # the staged batch goes under the people its keys belong to
            joins = identity.stage_resolve(workspace_id=workspace_id, source_id=source.id).joins
        # A batch that moves history between people holds the workspace's stores off (see identity.py).
        cursor.execute(rollup_lock_sql(workspace_id, exclusive=joins))
        cursor.execute(PG_INSERT, {"workspace": workspace_id, "source": source.id, "received": received_at})
        inserted, *_counts, window_customers, threshold_cents = cursor.fetchone()
        if window_customers:  # the workspace has a window and the batch added to its days
            window_add(cursor, workspace_id=workspace_id, source_id=source.id, threshold_cents=threshold_cents)
    if stitching:
        identity.stitch(workspace_id=workspace_id, source_id=source.id, joins=joins)
    return int(inserted)


def events_build(*, source: DataSource, records: list[EventRecord], received_at: datetime) -> list[Event]:
    """Unsaved Event rows of a source for mapped records, all received at one moment."""
    return [
        Event(
            workspace_id=source.workspace_id,
            source_id=source.id,
            external_id=r.external_id,
            event_type=r.event_type,
            raw_name=r.raw_name,
            customer_key=r.customer_key,
            anonymous_id=r.anonymous_id,
            session_id=r.session_id,
            occurred_at=r.occurred_at,
            received_at=received_at,
            value=r.value,
            currency=r.currency,
            properties=r.properties,
        )
        for r in records
    ]


def _store_orm(*, source: DataSource, records: list[EventRecord], received_at: datetime) -> int:
    stitching = identity.stitching_enabled()
    if stitching:  # the batch goes under the people its keys belong to
        identity.stage_keys(records)
        resolved = identity.stage_resolve(workspace_id=source.workspace_id, source_id=source.id)
        for record in records:
            record.customer_key = resolved.people.get(record.external_id, record.customer_key)
    candidate_list = list({r.external_id for r in records})
    existing: set[str] = set()
    for start in range(0, len(candidate_list), 900):
        chunk = candidate_list[start : start + 900]
        existing.update(
            EventKey.objects.filter(
                workspace_id=source.workspace_id, source_id=source.id, external_id__in=chunk
            ).values_list("external_id", flat=True)
        )
    new_records, seen = [], set(existing)
    for record in records:
        if record.external_id not in seen:
            seen.add(record.external_id)
            new_records.append(record)
    keys = [
        EventKey(
            workspace_id=source.workspace_id, source_id=source.id, external_id=r.external_id, occurred_at=r.occurred_at
        )
        for r in new_records
    ]
    EventKey.objects.bulk_create(keys, batch_size=500)
    Event.objects.bulk_create(events_build(source=source, records=new_records, received_at=received_at), batch_size=500)
    customer_ids = _customers_upsert_orm(
        workspace_id=source.workspace_id, new_records=new_records, all_records=records, now=received_at
    )
    rollups_add(source=source, records=new_records, customer_ids=customer_ids)
    with connection.cursor() as cursor:
        window_refresh(
            cursor,
            workspace_id=source.workspace_id,
            customer_ids=customer_ids.values(),
            days_added_only=True,
            source_id=source.id,
        )
    if stitching:
        identity.stitch(workspace_id=source.workspace_id, source_id=source.id, joins=resolved.joins)
    return len(new_records)


def _customers_upsert_orm(
    *, workspace_id: int, new_records: list[EventRecord], all_records: list, now
) -> dict[str, int]:
    """Upsert the customers of the new records; returns their ids by customer key."""
    totals: dict[str, dict] = defaultdict(
        lambda: {"first": None, "last": None, "n": 0, "purchases": 0, "total": Decimal("0")}
    )
    for r in new_records:
        if not r.customer_key:
            continue
        agg = totals[r.customer_key]
        agg["first"] = r.occurred_at if agg["first"] is None else min(agg["first"], r.occurred_at)
        agg["last"] = r.occurred_at if agg["last"] is None else max(agg["last"], r.occurred_at)
        agg["n"] += 1
        if r.event_type == "purchase":
            agg["purchases"] += 1
            agg["total"] += r.value or 0
    if not totals:
        return {}
    identity: dict[str, EventRecord] = {}
    for r in sorted(all_records, key=lambda rec: (bool(rec.email), rec.occurred_at)):
        if r.customer_key in totals and (r.email or r.email_sha256 or r.first_name or r.last_name):
            identity[r.customer_key] = r
    keys = sorted(totals)
    existing = {}
    for start in range(0, len(keys), 900):
        for customer in Customer.objects.filter(workspace_id=workspace_id, customer_key__in=keys[start : start + 900]):
            existing[customer.customer_key] = customer
    to_create, to_update = [], []
    for key in keys:
        agg, ident = totals[key], identity.get(key)
        customer = existing.get(key)
        if customer is None:
            customer = Customer(
                workspace_id=workspace_id,
                customer_key=key,
                first_seen_at=agg["first"],
                last_seen_at=agg["last"],
                event_count=0,
                purchase_count=0,
                total_value=Decimal("0"),
            )
            to_create.append(customer)
        else:
            customer.first_seen_at = min(customer.first_seen_at, agg["first"])
            customer.last_seen_at = max(customer.last_seen_at, agg["last"])
            to_update.append(customer)
        customer.event_count += agg["n"]
        customer.purchase_count += agg["purchases"]
        customer.total_value += agg["total"]
        customer.updated_at = now
        if ident is not None:
            for field in ("email", "email_sha256", "first_name", "last_name"):
                if getattr(ident, field):
                    setattr(customer, field, getattr(ident, field))
    Customer.objects.bulk_create(to_create, batch_size=500)
    Customer.objects.bulk_update(
        to_update,
        [
            "first_seen_at",
            "last_seen_at",
            "event_count",
            "purchase_count",
            "total_value",
            "updated_at",
            "email",
            "email_sha256",
            "first_name",
            "last_name",
        ],
        batch_size=500,
    )
    return {customer.customer_key: customer.id for customer in [*to_create, *to_update]}
