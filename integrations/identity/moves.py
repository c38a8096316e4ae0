"""What the stitching steps share: table names, per-database SQL spellings and the moves of events between keys
with their customer totals and rollups (integrations/identity/__init__.py)."""

from django.conf import settings
from django.db import connection
from django.utils import timezone

from integrations.daysets import daysets_forget_sql
from integrations.models import Customer, CustomerDayRollup, Event, EventRollup, IdentityMerge, StitchedEvent
from integrations.rollups import (
    CENTS_SQL,
    CUSTOMER_DAY_COLUMNS,
    analysis_time_zone,
    customer_day_add_sql,
    customer_day_values_sql,
    day_sql,
)
from integrations.window import window_customers_of, window_refresh

ANONYMOUS, CUSTOMER = IdentityMerge.Kind.ANONYMOUS.value, IdentityMerge.Kind.CUSTOMER.value
EMAIL_PREFIX = "email:"
# An event queued to move from `old_key` to `customer_key` by `merge_id`, with the fields its rollups and totals
# are computed from: they are read here, not joined from the events again.
MOVED_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS integ_moved (event_id bigint, occurred_at {time_type}, merge_id bigint, "
    "customer_key text, old_key text, source_id bigint, event_type text, currency text, value numeric)"
)
MOVED_COLUMNS = "event_id, occurred_at, merge_id, customer_key, old_key, source_id, event_type, currency, value"
MOVED_EVENT_FIELDS = "e.source_id, e.event_type, e.currency, e.value"  # the last four of MOVED_COLUMNS


def stitching_enabled() -> bool:
    return settings.IDENTITY_STITCHING


def tables() -> dict[str, str]:
    return {
        "event": Event._meta.db_table,
        "customer": Customer._meta.db_table,
        "merge": IdentityMerge._meta.db_table,
        "stitched": StitchedEvent._meta.db_table,
        "customer_day": CustomerDayRollup._meta.db_table,
        "event_rollup": EventRollup._meta.db_table,
    }


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def json_object_sql() -> str:
    return "jsonb_build_object" if on_postgres() else "json_object"


def least_sql() -> str:
    return "LEAST" if on_postgres() else "min"


def greatest_sql() -> str:
    return "GREATEST" if on_postgres() else "max"


# --- Moving events between keys, with their rollups -------------------------------------------------------------


def moved_table_sql() -> str:
    """The temporary table of events queued to move between keys."""
    return MOVED_SQL.format(time_type="timestamptz" if on_postgres() else "text")


def moves_apply(cursor, *, workspace_id: int) -> int:
    """Move the events queued in `integ_moved` to their new keys, record them as stitched and carry their
    rollups and totals: returns the events moved. Only events still under the key they were found with move
    (a concurrent batch that moved them first wins)."""
    table = tables()
    cursor.execute(
        f"""
        UPDATE {table["event"]} SET customer_key = mv.customer_key
        FROM integ_moved mv
        WHERE {table["event"]}.workspace_id = %(workspace)s AND {table["event"]}.occurred_at = mv.occurred_at
            AND {table["event"]}.id = mv.event_id
            AND {table["event"]}.customer_key = mv.old_key
        RETURNING {table["event"]}.id
        """,
        {"workspace": workspace_id},
    )
    moved = [row[0] for row in cursor.fetchall()]
    cursor.execute("SELECT count(*) FROM integ_moved")
    if cursor.fetchone()[0] != len(moved):
        _moved_keep_only(cursor, moved)
    if not moved:
        return 0
    params = {"workspace": workspace_id, "zone": analysis_time_zone(workspace_id=workspace_id), "now": timezone.now()}
    cursor.execute(
        f"INSERT INTO {table['stitched']} (event_id, occurred_at, merge_id) SELECT event_id, occurred_at, merge_id "
        "FROM integ_moved "
        "WHERE true ORDER BY event_id ON CONFLICT (merge_id, event_id) DO NOTHING"
    )
    cursor.execute(identified_shift_sql(sign="+", moved="mv.old_key = ''"), params)
    cursor.execute(_customers_add_sql(), params)
    cursor.execute(_customer_days_add_sql(), params)
    cursor.execute(daysets_forget_sql(f"SELECT {day_sql()}, source_id FROM integ_moved"), params)
    touched = window_customers_of(cursor, workspace_id=workspace_id, keys_sql=_MOVED_KEYS)  # before some go
    cursor.execute(  # a customer key whose events all moved to its person is gone (its profile is on the join)
        f"""
        DELETE FROM {table["customer_day"]} WHERE workspace_id = %(workspace)s AND customer_id IN (
            SELECT c.id FROM {table["customer"]} c WHERE c.workspace_id = %(workspace)s
                AND c.customer_key IN (SELECT old_key FROM integ_moved WHERE old_key <> '')
        )
        """,
        params,
    )
    cursor.execute(
        f"""
        DELETE FROM {table["customer"]} WHERE workspace_id = %(workspace)s
            AND customer_key IN (SELECT old_key FROM integ_moved WHERE old_key <> '')
        """,
        params,
    )
    window_refresh(cursor, workspace_id=workspace_id, customer_ids=touched)
    return len(moved)


_MOVED_KEYS = "SELECT customer_key FROM integ_moved UNION SELECT old_key FROM integ_moved WHERE old_key <> ''"


def _moved_keep_only(cursor, moved: list[int]) -> None:
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS integ_moved_ids (event_id bigint)")
    cursor.execute("DELETE FROM integ_moved_ids")
    cursor.executemany("INSERT INTO integ_moved_ids (event_id) VALUES (%s)", [(event_id,) for event_id in moved])
    cursor.execute("DELETE FROM integ_moved WHERE event_id NOT IN (SELECT event_id FROM integ_moved_ids)")


def identified_shift_sql(*, sign: str, moved: str) -> str:
    """Day totals of identified events grow (`+`) or shrink (`-`) by the queued events matching `moved` (those
    leaving or joining the anonymous key '')."""
    table = tables()
    return f"""
    UPDATE {table["event_rollup"]} SET
        identified_events = identified_events {sign} x.events,
        identified_value_cents = identified_value_cents {sign} x.cents
    FROM (
        SELECT source_id, {day_sql()} AS day, event_type, currency, count(*) AS events,
            coalesce(sum({CENTS_SQL}), 0) AS cents
        FROM integ_moved mv
        WHERE {moved}
        GROUP BY source_id, {day_sql()}, event_type, currency
    ) x
    WHERE {table["event_rollup"]}.workspace_id = %(workspace)s AND {table["event_rollup"]}.source_id = x.source_id
        AND {table["event_rollup"]}.day = x.day AND {table["event_rollup"]}.event_type = x.event_type
        AND {table["event_rollup"]}.currency = x.currency
    """


def _customers_add_sql() -> str:
    table, least, greatest = tables(), least_sql(), greatest_sql()
    return f"""
    INSERT INTO {table["customer"]} AS c (workspace_id, customer_key, email, email_sha256, first_name, last_name,
        first_seen_at, last_seen_at, event_count, purchase_count, total_value, created_at, updated_at)
    SELECT %(workspace)s, customer_key, '', '', '', '', min(occurred_at), max(occurred_at), count(*),
        count(CASE WHEN event_type = 'purchase' THEN 1 END),
        coalesce(sum(CASE WHEN event_type = 'purchase' THEN {CENTS_SQL} END), 0) / 100.0, %(now)s, %(now)s
    FROM integ_moved
    WHERE true
    GROUP BY customer_key
    ORDER BY customer_key
    ON CONFLICT (workspace_id, customer_key) DO UPDATE SET
        first_seen_at = {least}(c.first_seen_at, excluded.first_seen_at),
        last_seen_at = {greatest}(c.last_seen_at, excluded.last_seen_at),
        event_count = c.event_count + excluded.event_count,
        purchase_count = c.purchase_count + excluded.purchase_count,
        total_value = c.total_value + excluded.total_value,
        updated_at = excluded.updated_at
    """


def _customer_days_add_sql() -> str:
    table = tables()
    # The person's customer row probed per moved event: a join would let the planner scan the workspace's customers.
    return f"""
    INSERT INTO {table["customer_day"]} AS r ({CUSTOMER_DAY_COLUMNS})
    SELECT %(workspace)s, customer_id, {day_sql()}, source_id, {customer_day_values_sql()}
    FROM (
        SELECT mv.*, (
            SELECT c.id FROM {table["customer"]} c WHERE c.workspace_id = %(workspace)s
                AND c.customer_key = mv.customer_key
        ) AS customer_id
        FROM integ_moved mv
    ) moved
    WHERE true
    GROUP BY customer_id, {day_sql()}, source_id
    ORDER BY customer_id, {day_sql()}, source_id
    {customer_day_add_sql(least=least_sql(), greatest=greatest_sql())}
    """
