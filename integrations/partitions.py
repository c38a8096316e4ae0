"""The month partitions of the events table on PostgreSQL (DESIGN §9); nothing to do on other databases.

`integrations_event` is partitioned by RANGE of `occurred_at`, one partition per UTC month
(`integrations_event_p2026_03` holds March 2026), plus a default partition that catches any event whose month
has no partition yet (a backfill of older orders, a client with a wrong clock). Beat keeps the partitions of
`EVENT_PARTITIONS_BEHIND` past months (so the usual backfill, e.g. Shopify's readable 60 days, lands in its own
months), this month and `EVENT_PARTITIONS_AHEAD` more (`event_partitions_ensure`), moves what the default
partition caught into partitions of its own, and drops older partitions left empty by retention
(`integrations/retention.py`). Migration 0012 creates the table, the same window and the partitions of the
months that already hold events.

De-duplication does not depend on partitions: `EventKey` is unique across all time (see its docstring).
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import connection, transaction

EVENT_TABLE = "integrations_event"
DEFAULT_PARTITION = f"{EVENT_TABLE}_default"
_MONTH_NAME = re.compile(rf"^{EVENT_TABLE}_p(\d{{4}})_(\d{{2}})$")
# Events dated before this stay in the default partition instead of getting a partition per month each.
SWEEP_FROM = date(2000, 1, 1)
# DDL on the partitioned table waits this long for the stores in flight, then gives up until beat's next run.
LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Partition:
    name: str
    month: date  # the first day of its UTC month

    @property
    def start(self) -> datetime:
        return month_start(self.month)

    @property
    def end(self) -> datetime:
        return month_start(month_add(self.month, 1))


def month_of(moment: datetime) -> date:
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def month_add(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def partition_name(month: date) -> str:
    return f"{EVENT_TABLE}_p{month:%Y_%m}"


def partitioned() -> bool:
    """Whether this database keeps events in month partitions (PostgreSQL after migration 0012)."""
    return connection.vendor == "postgresql"


def _lock(cursor, *tables: str) -> None:
    """Lock the tables for DDL, the parent first (the order every insert takes them in, so no deadlock), waiting
    at most LOCK_TIMEOUT for the stores in flight; stores wait for the DDL, which takes milliseconds."""
    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    for table in tables:
        cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")


def event_partitions() -> list[Partition]:
    """The month partitions of the events table, oldest first (the default partition is not listed)."""
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [EVENT_TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        match = _MONTH_NAME.match(name)
        if match:
            found.append(Partition(name=name, month=date(int(match[1]), int(match[2]), 1)))
    return sorted(found, key=lambda partition: partition.month)


def event_partition_create(cursor, month: date) -> bool:
    """Create the month's partition unless it exists (inside the caller's transaction); returns whether it did.

    Rows the default partition caught for that month move into the new partition in the same transaction, so
    an event is never in two places nor missing; new stores wait on the default partition's lock meanwhile.
    """
    name, start, end = partition_name(month), month_start(month), month_start(month_add(month, 1))
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        return False
    bounds = f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    _lock(cursor, EVENT_TABLE, DEFAULT_PARTITION)
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE occurred_at >= %s AND occurred_at < %s)", [start, end]
    )
    if not cursor.fetchone()[0]:
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {EVENT_TABLE} {bounds}")
        return True
    cursor.execute(f"CREATE TABLE {name} (LIKE {EVENT_TABLE})")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE occurred_at >= %s AND occurred_at < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        [start, end],
    )
    cursor.execute(f"ALTER TABLE {EVENT_TABLE} ATTACH PARTITION {name} {bounds}")
    return True


def partition_window(*, now: datetime, ahead: int | None = None) -> list[date]:
    """The months whose partitions are kept ready: EVENT_PARTITIONS_BEHIND before this one to `ahead` after it
    (EVENT_PARTITIONS_AHEAD by default)."""
    ahead = settings.EVENT_PARTITIONS_AHEAD if ahead is None else ahead
    current = month_of(now)
    return [month_add(current, n) for n in range(-settings.EVENT_PARTITIONS_BEHIND, ahead + 1)]


def event_partitions_ensure(*, now: datetime, ahead: int | None = None) -> list[str]:
    """Create the partitions of `partition_window` and one for each month the default partition caught events
    of; returns the partitions created. Idempotent; each in its own transaction."""
    if not partitioned():
        return []
    window = partition_window(now=now, ahead=ahead)
    months = set(window)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM {DEFAULT_PARTITION} "
            "WHERE occurred_at >= %s AND occurred_at < %s",
            [month_start(SWEEP_FROM), month_start(month_add(window[-1], 1))],
        )
        months.update(row[0] for row in cursor.fetchall())
    created = []
    for month in sorted(months):
        with transaction.atomic(), connection.cursor() as cursor:
            if event_partition_create(cursor, month):
                created.append(partition_name(month))
    return created


def event_partitions_drop_empty(*, now: datetime) -> list[str]:
    """Drop the partitions older than `partition_window` that hold no event (every workspace's retention is
    past them, or none had events then); returns their names."""
    dropped = []
    first_kept = partition_window(now=now)[0]
    for partition in event_partitions():
        if partition.month >= first_kept:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            _lock(cursor, EVENT_TABLE, partition.name)
            cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {partition.name})")
            if cursor.fetchone()[0]:
                cursor.execute(f"DROP TABLE {partition.name}")
                dropped.append(partition.name)
    return dropped
