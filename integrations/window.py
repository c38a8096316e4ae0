"""The default range's per-customer summary, kept on ingest so the dashboard's default overview reads a few
hundred rows instead of aggregating every customer-day of 60 days (DESIGN §9).

The overview's per-customer figures (segments, engagement, funnel customers of the period and the previous one)
need, per customer, the current period's type mask, purchases and purchase value and the previous period's type
mask (`integrations.analysis.queries.customer_flags`; the events themselves come from the day totals). For the
default range (the DEFAULT_DAYS days ending today, in the workspace's analysis time zone) those fields are kept
per customer and source in `CustomerWindow`, and `WindowSignature` counts the customers per scope (all sources,
and each source) and combination of the values the rules compare: the overview aggregates those rows with the same
rules as the customer-day path (`customer_summary_aggregate`), so both give the same answer. A customer's
all-sources fields are its source rows added up (`_all_sources_sql`); only their signatures are stored, so a store
writes one window row per customer.

Maintenance: whatever changes a customer's day rollups recomputes that customer's window rows from them and moves
the customer between signatures (`window_refresh`), in the same transaction: identity moves, `rollups_recompute`
for the keys it rebuilds, and the ORM store for its batch's customers. The PostgreSQL store only adds days, so it
adds instead: its statement computes each customer's additions to the window fields from the additions to its day
rollups (`window_delta_sql`: sums and type masks, which only grow), and `window_add` applies them to the customers' rows
and moves the customers between signatures, without re-reading their day rollups. A whole-workspace rebuild of the
rollups (time zone change) drops the window's state instead (nothing maintains it until a rebuild). The rows are
always exact for the state's day and threshold; they answer only while that day is today in the workspace's zone
and the threshold is the workspace's. Otherwise the overview takes the exact customer-day path and a task brings
the window up to date (`window_bring_up_to_date`: beat, on demand, after a job): a new day refreshes only the
customers with days entering or leaving either half, a new threshold recounts the signatures, anything else
rebuilds it from the day rollups.

Concurrency (PostgreSQL): `window_refresh` and `window_add` take the workspace's window lock (an exclusive
transaction advisory lock) before they read the day rollups or the window rows, so two stores of one workspace
never compute a customer's row from snapshots missing each other's changes; the stores of one workspace serialise
from that step to their commit. `window_rebuild` holds the exclusive rollup lock, so no store runs meanwhile.
"""

import contextlib
import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from integrations.analysis.queries import DEFAULT_DAYS, Period, cents, mask_fields
from integrations.models import CustomerDayRollup, CustomerWindow, DefaultWindow, EventRollup, WindowSignature
from integrations.rollups import analysis_time_zone, rollup_lock_sql

ALL_SOURCES = 0  # the scope of the rows that count every source

# An arbitrary namespace for the workspace's window lock among the database's advisory locks.
_LOCK_NAMESPACE = 0x57494E44 << 32  # "WIND"


def window_lock_sql(workspace_id: int) -> str:
    return f"SELECT pg_advisory_xact_lock({_LOCK_NAMESPACE | int(workspace_id)})"


def window_period(as_of: date) -> Period:
    """The default range ending on `as_of` (its previous period is the window's other half)."""
    return Period(as_of - timedelta(days=DEFAULT_DAYS - 1), as_of)


def _today(zone: str) -> date:
    return datetime.now(zoneinfo.ZoneInfo(zone)).date()


def _tables() -> dict[str, str]:
    return {
        "customer_day": CustomerDayRollup._meta.db_table,
        "window": CustomerWindow._meta.db_table,
        "signature": WindowSignature._meta.db_table,
    }


def _threshold_cents(workspace_id: int) -> int:
    """The workspace's current high-value threshold, in cents."""
    from accounts.models import Workspace

    return cents(Workspace.objects.values_list("high_value_threshold", flat=True).get(id=workspace_id))


def _params(*, workspace_id: int, as_of: date, threshold_cents: int) -> dict:
    period, adapt = window_period(as_of), connection.ops.adapt_datefield_value
    return {
        "workspace": workspace_id,
        "previous_from": adapt(period.previous().date_from),
        "current_from": adapt(period.date_from),
        "as_of": adapt(as_of),
        "threshold": threshold_cents,
    }


# --- Reading ---------------------------------------------------------------------------------------------------


def window_signatures(*, workspace, period: Period, zone: str, source_id: int | None) -> QuerySet | None:
    """The signature rows answering the period's per-customer figures, shaped like `customer_flags` rows with a
    `customer_count` weight; None when the window cannot answer: another range, or a stale window (then a
    rebuild is requested)."""
    if period != window_period(_today(zone)):
        return None
    state = DefaultWindow.objects.filter(workspace=workspace).first()
    if (
        state is None
        or state.as_of != period.date_to
        or state.time_zone != zone
        or state.threshold_cents != cents(workspace.high_value_threshold)
    ):
        window_rebuild_request(workspace_id=workspace.id)
        return None
    scope = ALL_SOURCES if source_id is None else source_id
    rows = WindowSignature.objects.filter(workspace=workspace, scope=scope, customer_count__gt=0)
    return mask_fields(rows)


# --- Maintenance -----------------------------------------------------------------------------------------------


def _temp_tables(cursor) -> None:
    """The refresh's empty work tables (a transaction may refresh several times: one store per source)."""
    on_postgres = connection.vendor == "postgresql"
    on_commit = " ON COMMIT DELETE ROWS" if on_postgres else ""
    statements = [
        f"CREATE TEMP TABLE IF NOT EXISTS integ_window_ids (customer_id bigint){on_commit}",
        "CREATE TEMP TABLE IF NOT EXISTS integ_window_fresh (customer_id bigint, scope bigint, mask integer, "
        f"previous_mask integer, purchases integer, purchase_cents bigint){on_commit}",
        "DELETE FROM integ_window_ids",
        "DELETE FROM integ_window_fresh",
    ]
    if on_postgres:  # one round trip
        cursor.execute("; ".join(statements))
        return
    for statement in statements:
        cursor.execute(statement)


def _fields_sql() -> str:
    """A customer's window fields from its day rows (`day` between the previous period's start and `as_of`)."""
    current = "CASE WHEN day >= %(current_from)s THEN {} END"
    return (
        f"coalesce(bit_or({current.format('type_mask')}), 0), "
        "coalesce(bit_or(CASE WHEN day < %(current_from)s THEN type_mask END), 0), "
        f"coalesce(sum({current.format('purchases')}), 0), coalesce(sum({current.format('purchase_cents')}), 0)"
    )


_WINDOW_COLUMNS = "customer_id, scope, mask, previous_mask, purchases, purchase_cents"
_FIELDS = ("mask", "previous_mask", "purchases", "purchase_cents")
# How the all-sources fields come from a customer's source rows, and how the store's additions add to fields:
# sums are added, type masks OR-ed.
_COMBINE = {"mask": "|", "previous_mask": "|", "purchases": "+", "purchase_cents": "+"}
_AGGREGATE = {"+": "sum", "|": "bit_or"}


def _all_sources_sql(rows: str) -> str:
    """A SELECT of the all-sources rows (`_WINDOW_COLUMNS`) of the source rows in `rows` (a table or a
    parenthesised SELECT with an alias, with its WHERE clause): the window keeps no all-sources rows, only their
    signatures, so each is added up from the customer's source rows where it is needed."""
    # bigint, not PostgreSQL's numeric sum of a bigint: the signatures compare and group these values.
    fields = ", ".join(f"CAST({_AGGREGATE[_COMBINE[name]]}({name}) AS bigint) AS {name}" for name in _FIELDS)
    return f"SELECT customer_id, {ALL_SOURCES} AS scope, {fields} FROM {rows} GROUP BY customer_id"


# What a window row contributes to a signature: the rules compare purchases with 0 and 1, the value with the
# threshold, so capping them keeps the answer and the signatures few.
_SIGNATURE_SQL = (
    "scope, mask, previous_mask, "
    "CASE WHEN purchases > 2 THEN 2 ELSE purchases END AS purchases, "
    "CASE WHEN purchase_cents > %(threshold)s THEN %(threshold)s + 1 ELSE purchase_cents END AS purchase_cents"
)
_SIGNATURE_KEY = "scope, mask, previous_mask, purchases, purchase_cents"


def _signatures_move_sql(*, old: str, new: str) -> str:
    """Each customer leaves the signature of its window rows in `old` (-1) and joins that of its rows in `new`
    (+1); `old` and `new` name tables or CTEs, `old` with its WHERE clause."""
    return f"""
    INSERT INTO {_tables()["signature"]} AS s (workspace_id, {_SIGNATURE_KEY}, customer_count)
    SELECT %(workspace)s, {_SIGNATURE_KEY}, sum(n) FROM (
        SELECT {_SIGNATURE_SQL}, -1 AS n FROM {old}
        UNION ALL
        SELECT {_SIGNATURE_SQL}, 1 AS n FROM {new}
    ) moves
    GROUP BY {_SIGNATURE_KEY}
    HAVING sum(n) <> 0
    ORDER BY {_SIGNATURE_KEY}
    ON CONFLICT (workspace_id, {_SIGNATURE_KEY}) DO UPDATE SET
        customer_count = s.customer_count + excluded.customer_count"""


def _refresh_sql(*, one_source: bool) -> list[str]:
    """The refresh's statements; with `one_source`, only the rows of `%(source)s` (and the all-sources
    signatures) are rewritten (a store changed that source's days only)."""
    t = _tables()
    ids = "customer_id IN (SELECT customer_id FROM integ_window_ids)"
    customers = f"{t['window']} WHERE workspace_id = %(workspace)s AND {ids}"
    of_source = "AND scope = %(source)s" if one_source else ""
    fresh_of_sources = f"""
    INSERT INTO integ_window_fresh ({_WINDOW_COLUMNS})
    SELECT customer_id, source_id, {_fields_sql()} FROM {t["customer_day"]}
    WHERE workspace_id = %(workspace)s AND day >= %(previous_from)s AND day <= %(as_of)s
        AND {ids}
    GROUP BY customer_id, source_id
    """
    fresh_of_all = f"INSERT INTO integ_window_fresh ({_WINDOW_COLUMNS}) {_all_sources_sql('integ_window_fresh')}"
    unchanged = f"DELETE FROM integ_window_fresh WHERE scope NOT IN ({ALL_SOURCES}, %(source)s)"
    signatures_move = _signatures_move_sql(
        old=f"(SELECT {_WINDOW_COLUMNS} FROM {customers} {of_source} UNION ALL {_all_sources_sql(customers)}) old",
        new="integ_window_fresh",
    )
    gone = f"""
    DELETE FROM {customers} {of_source}
        AND NOT EXISTS (SELECT 1 FROM integ_window_fresh f
            WHERE f.customer_id = {t["window"]}.customer_id AND f.scope = {t["window"]}.scope)
    """
    upsert = f"""
    INSERT INTO {t["window"]} AS w (workspace_id, {_WINDOW_COLUMNS})
    SELECT %(workspace)s, {_WINDOW_COLUMNS} FROM integ_window_fresh WHERE scope <> {ALL_SOURCES}
    ORDER BY customer_id, scope
    ON CONFLICT (workspace_id, customer_id, scope) DO UPDATE SET
        mask = excluded.mask, previous_mask = excluded.previous_mask,
        purchases = excluded.purchases, purchase_cents = excluded.purchase_cents"""
    return [fresh_of_sources, fresh_of_all, *([unchanged] if one_source else []), signatures_move, gone, upsert]


def window_refresh(
    cursor,
    *,
    workspace_id: int,
    customers_sql: str = "",
    params=None,
    customer_ids: Iterable[int] = (),
    days_added_only: bool = False,
    source_id: int | None = None,
) -> None:
    """Recompute the window rows and signatures of some customers from their day rollups, in the caller's
    transaction, after it changed their day rollups. The customers are `customer_ids`, or the ids that
    `customers_sql` (a SELECT of one column, with `params`) returns. A store passes `days_added_only` (no
    customer lost a day: no rows to delete) and its `source_id` (no other source's rows changed). Nothing to do
    without a window."""
    # The state changes only under the exclusive rollup lock, which the caller's shared one excludes.
    state = DefaultWindow.objects.filter(workspace_id=workspace_id).first()
    if state is None:
        return
    if connection.vendor == "postgresql":
        cursor.execute(window_lock_sql(workspace_id))
    _temp_tables(cursor)
    if customers_sql:
        cursor.execute(f"INSERT INTO integ_window_ids (customer_id) {customers_sql}", params or {})
    else:
        ids = [(customer_id,) for customer_id in set(customer_ids)]
        if not ids:
            return
        cursor.executemany("INSERT INTO integ_window_ids (customer_id) VALUES (%s)", ids)
    values = _params(workspace_id=workspace_id, as_of=state.as_of, threshold_cents=state.threshold_cents)
    values["source"] = source_id
    *changes, gone, upsert = _refresh_sql(one_source=source_id is not None)
    for sql in (*changes, *(() if days_added_only else (gone,)), upsert):
        cursor.execute(sql, values)


# --- Ingest on PostgreSQL: the store's additions applied as deltas ------------------------------------------------

# The batch's additions to each customer's window fields, one row per customer (the store statement fills it).
WINDOW_DELTA_PREPARE = (
    "CREATE TEMP TABLE IF NOT EXISTS integ_window_delta (customer_id bigint, mask integer, "
    "previous_mask integer, purchases integer, purchase_cents bigint) ON COMMIT DELETE ROWS; "
    "DELETE FROM integ_window_delta"  # a transaction may store several times (one store per source)
)


def window_delta_sql(*, customer_days: str) -> str:
    """The store statement's CTEs `window_state` (the workspace's window: empty without one) and `window_delta`,
    which adds to `integ_window_delta` each customer's additions to its window fields from the batch's additions
    to its day rollups on the window's days, CTE `customer_days` (customer_id, day, events, type_mask, purchases,
    purchase_cents). The store statement runs under the shared rollup lock, under which the state does not
    change."""
    current_from = f"day >= as_of - {DEFAULT_DAYS - 1}"
    return f"""
window_state AS (
    SELECT as_of, threshold_cents FROM {DefaultWindow._meta.db_table} WHERE workspace_id = %(workspace)s
), window_delta AS (
    INSERT INTO integ_window_delta (customer_id, mask, previous_mask, purchases, purchase_cents)
    SELECT customer_id, coalesce(bit_or(type_mask) FILTER (WHERE {current_from}), 0),
        coalesce(bit_or(type_mask) FILTER (WHERE NOT {current_from}), 0),
        coalesce(sum(purchases) FILTER (WHERE {current_from}), 0),
        coalesce(sum(purchase_cents) FILTER (WHERE {current_from}), 0)
    FROM {customer_days} JOIN window_state ON day BETWEEN as_of - {2 * DEFAULT_DAYS - 1} AND as_of
    GROUP BY customer_id
    RETURNING 1
)"""


def _add_sql() -> str:
    """Add `integ_window_delta` to the rows of `%(source)s`: new fields are the old ones plus the additions (sums
    added, masks OR-ed: days were only added), and each customer moves from its old signatures to its new ones,
    of its source's scope and of all sources (whose fields are its source rows' added up, plus the additions).

    A customer's source rows are read once, by their key (`OFFSET 0` keeps the lookups per customer: the planner
    would rather hash all the workspace's rows), and its source's row is updated where it lies (its ctid): under
    the window lock no other statement writes these rows, so a plain UPDATE and INSERT need neither
    `ON CONFLICT`'s second key lookup nor its row lock. Data-modifying CTEs run whether or not anything reads
    them, so nothing counts the rows written."""
    t = _tables()
    fields = ", ".join(_FIELDS)
    combined = ", ".join(f"d.{name} {_COMBINE[name]} coalesce(o.{name}, 0) AS {name}" for name in _FIELDS)
    return f"""
    WITH source_rows AS (
        SELECT d.customer_id, o.ctid AS row_ctid, o.scope, {", ".join(f"o.{name}" for name in _FIELDS)}
        FROM integ_window_delta d CROSS JOIN LATERAL (
            SELECT ctid, scope, {fields} FROM {t["window"]}
            WHERE workspace_id = %(workspace)s AND customer_id = d.customer_id
            OFFSET 0
        ) o
    ), old AS (
        SELECT {_WINDOW_COLUMNS} FROM source_rows WHERE scope = %(source)s
        UNION ALL {_all_sources_sql("source_rows")}
    ), new AS (
        SELECT d.customer_id, s.scope, {combined}
        FROM integ_window_delta d CROSS JOIN (VALUES ({ALL_SOURCES}), (%(source)s)) s (scope)
        LEFT JOIN old o ON o.customer_id = d.customer_id AND o.scope = s.scope
    ), updated AS (
        UPDATE {t["window"]} w SET {", ".join(f"{name} = new.{name}" for name in _FIELDS)}
        FROM new JOIN source_rows o ON o.customer_id = new.customer_id AND o.scope = new.scope
        WHERE new.scope = %(source)s AND w.ctid = o.row_ctid
    ), inserted AS (
        INSERT INTO {t["window"]} (workspace_id, {_WINDOW_COLUMNS})
        SELECT %(workspace)s, {_WINDOW_COLUMNS} FROM new
        WHERE scope = %(source)s
            AND NOT EXISTS (SELECT 1 FROM source_rows o WHERE o.customer_id = new.customer_id AND o.scope = new.scope)
        ORDER BY customer_id
    ), moves AS ({_signatures_move_sql(old="old", new="new")} RETURNING 1
    )
    SELECT count(*) FROM moves
    """


_ADD_SQL = _add_sql()


def window_add(cursor, *, workspace_id: int, source_id: int, threshold_cents: int) -> None:
    """Apply the additions the store statement put in `integ_window_delta` (`window_delta_sql`) to the window
    rows and signatures, in the caller's transaction (PostgreSQL; the store's days of `source_id` were only
    added). `threshold_cents` is the window state's, as the store statement read it."""
    # After the store statement: this statement's snapshot must see every store that held the lock before.
    # One round trip: the add is the second statement, so it takes its snapshot once the lock is held.
    cursor.execute(
        f"{window_lock_sql(workspace_id)}; {_ADD_SQL}",
        {"workspace": workspace_id, "source": source_id, "threshold": threshold_cents},
    )


def window_customers_of(cursor, *, workspace_id: int, keys_sql: str, params: dict | None = None) -> list[int]:
    """The ids of the workspace's customers whose keys `keys_sql` selects: taken before a change deletes some of
    them, so that `window_refresh` afterwards takes the deleted ones out of the window too."""
    from integrations.models import Customer

    cursor.execute(
        f"SELECT id FROM {Customer._meta.db_table} WHERE workspace_id = %(workspace)s AND customer_key IN ({keys_sql})",
        {**(params or {}), "workspace": workspace_id},
    )
    return [row[0] for row in cursor.fetchall()]


def window_forget(*, workspace_id: int) -> None:
    """Mark the workspace's window stale (after a change that rebuilt all its day rollups)."""
    DefaultWindow.objects.filter(workspace_id=workspace_id).delete()


def window_rebuild(*, workspace_id: int) -> DefaultWindow:
    """Rebuild the workspace's window from its day rollups for today (in its analysis time zone) and the
    workspace's current high-value threshold. Holds the workspace's stores off meanwhile (PostgreSQL)."""
    t = _tables()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(rollup_lock_sql(workspace_id, exclusive=True))
        zone = analysis_time_zone(workspace_id=workspace_id)
        threshold = _threshold_cents(workspace_id)
        as_of = _today(zone)
        values = _params(workspace_id=workspace_id, as_of=as_of, threshold_cents=threshold)
        CustomerWindow.objects.filter(workspace_id=workspace_id).delete()
        cursor.execute(
            f"""
            INSERT INTO {t["window"]} (workspace_id, {_WINDOW_COLUMNS})
            SELECT %(workspace)s, customer_id, source_id, {_fields_sql()} FROM {t["customer_day"]}
            WHERE workspace_id = %(workspace)s AND day >= %(previous_from)s AND day <= %(as_of)s
            GROUP BY customer_id, source_id
            """,
            values,
        )
        _signatures_count(cursor, values)
        state, _ = DefaultWindow.objects.update_or_create(
            workspace_id=workspace_id,
            defaults={"as_of": as_of, "time_zone": zone, "threshold_cents": threshold, "built_at": timezone.now()},
        )
    return state


def _signatures_count(cursor, values: dict) -> None:
    """The workspace's signatures counted anew from its window rows (under `values["threshold"]`)."""
    t = _tables()
    rows = f"{t['window']} WHERE workspace_id = %(workspace)s"
    WindowSignature.objects.filter(workspace_id=values["workspace"]).delete()
    cursor.execute(
        f"""
        INSERT INTO {t["signature"]} (workspace_id, {_SIGNATURE_KEY}, customer_count)
        SELECT %(workspace)s, {_SIGNATURE_KEY}, count(*) FROM (
            SELECT {_SIGNATURE_SQL} FROM (
                SELECT {_WINDOW_COLUMNS} FROM {rows} UNION ALL {_all_sources_sql(rows)}
            ) window_rows
        ) rows GROUP BY {_SIGNATURE_KEY}
        """,
        values,
    )


def window_bring_up_to_date(*, workspace_id: int) -> DefaultWindow:
    """Bring a stale window to today and the current threshold with the least work: a new threshold only
    recounts the signatures from the window rows; a new day refreshes only the customers with days that enter or
    leave either half of the window; anything else (no window, another zone, days behind) rebuilds it. Holds the
    workspace's stores off meanwhile (PostgreSQL)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(rollup_lock_sql(workspace_id, exclusive=True))
        state = DefaultWindow.objects.select_for_update().filter(workspace_id=workspace_id).first()
        zone = analysis_time_zone(workspace_id=workspace_id)
        as_of = _today(zone)
        # A roll refreshes the customers of three day slices per day behind: past one day a rebuild is cheaper.
        if state is None or state.time_zone != zone or (as_of - state.as_of).days not in (0, 1):
            return window_rebuild(workspace_id=workspace_id)
        threshold = _threshold_cents(workspace_id)
        if threshold != state.threshold_cents:
            state.threshold_cents = threshold
            _signatures_count(cursor, _params(workspace_id=workspace_id, as_of=state.as_of, threshold_cents=threshold))
        if as_of != state.as_of:
            entering_or_leaving = _days_shifted_sql(old=window_period(state.as_of), new=window_period(as_of))
            state.as_of = as_of
            state.save()  # first: the refresh reads the state's day
            window_refresh(
                cursor,
                workspace_id=workspace_id,
                customers_sql=entering_or_leaving,
                params={"workspace": workspace_id},
            )
        state.built_at = timezone.now()
        state.save()
    return state


def _days_shifted_sql(*, old: Period, new: Period) -> str:
    """The customers with day rows whose place in the window differs between the `old` and the `new` window: the
    days leaving the previous half, moving from the current half to the previous one, and entering the current
    half (future-dated rows included)."""
    adapt = connection.ops.adapt_datefield_value
    shifted = [
        (old.previous().date_from, new.previous().date_from),
        (old.date_from, new.date_from),
        (old.date_to + timedelta(days=1), new.date_to + timedelta(days=1)),
    ]
    days = " OR ".join(f"(day >= '{adapt(start)}' AND day < '{adapt(end)}')" for start, end in shifted)
    return (
        f"SELECT DISTINCT customer_id FROM {CustomerDayRollup._meta.db_table} "
        f"WHERE workspace_id = %(workspace)s AND ({days})"
    )


def window_stale(*, workspace_id: int) -> bool:
    """True when the workspace's window cannot answer today's default range."""
    state = DefaultWindow.objects.filter(workspace_id=workspace_id).first()
    if state is None:
        return True
    zone = analysis_time_zone(workspace_id=workspace_id)
    threshold = _threshold_cents(workspace_id)
    return state.as_of != _today(zone) or state.time_zone != zone or state.threshold_cents != threshold


def window_ensure(*, workspace_id: int) -> bool:
    """Bring the workspace's window up to date if it is stale (a worker: a job's end, the on-demand task, beat);
    returns whether it was stale."""
    if not window_stale(workspace_id=workspace_id):
        return False
    window_bring_up_to_date(workspace_id=workspace_id)
    return True


def window_rebuild_request(*, workspace_id: int) -> None:
    """Ask a worker to rebuild a stale window, at most once a minute per workspace. Eager Celery (the embedded
    setup, no worker) leaves it to the job and beat paths rather than rebuilding inside a page's request."""
    from integrations.tasks import window_rebuild_task
    from marketing_ai.caching import shared_cache
    from marketing_ai.celery import task_publish
    from marketing_ai.errors import ServiceUnavailable

    if window_rebuild_task.app.conf.task_always_eager:
        return
    # While the cache is down nothing is asked (the add fails): the overview answered anyway, and beat rebuilds.
    if not shared_cache().add(f"window-rebuild:{workspace_id}", 1, 60):
        return
    with contextlib.suppress(ServiceUnavailable):  # the overview answered from the day rollups; beat retries
        task_publish(window_rebuild_task, workspace_id)


def windows_rebuild_due() -> int:
    """Rebuild every stale window of a workspace with day rollups in the last two default ranges; returns how
    many were rebuilt (beat, a few minutes after midnight in any zone and after threshold changes)."""
    since = timezone.now().date() - timedelta(days=2 * DEFAULT_DAYS + 1)
    workspace_ids = (
        EventRollup.objects.filter(day__gte=since).values_list("workspace_id", flat=True).distinct().order_by()
    )
    return sum(window_ensure(workspace_id=workspace_id) for workspace_id in workspace_ids)
