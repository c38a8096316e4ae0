"""Identity stitching: the pipeline's customer step joins the keys of one person (DESIGN §10).

Two joins, both recorded as an `IdentityMerge` with its reason and evidence:
- an anonymous id (client_id, fbp, cart token) seen in an event together with a customer key: the visitor's
  anonymous history, earlier and later, is stored under that customer;
- customer keys sharing one hashed e-mail (a Shopify customer id and `email:<sha256>` from the pixel): the
  person keeps the first real id (not an `email:` key, then the oldest profile), the others' events move to it.

All in SQL over the batch staged in the temporary table `integ_stage` (the COPY staging table on PostgreSQL, a
small table of the batch's keys elsewhere), inside the store's transaction: `stage_resolve` before the insert
(so the batch is stored under the person already), `stitch` after it (earlier history and new e-mail joins).
Every re-attributed event gets a `StitchedEvent` row, which is what `identity_merge_undo` reverts. Idempotent: a
re-delivered batch finds its joins made and its history moved. Concurrent batches: joins are unique per
identity (ON CONFLICT DO NOTHING) and events move only from the key they are found with, so two batches moving
the same history count it once.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from marketing_ai.errors import Conflict, PermissionDenied

from .models import Customer, CustomerDayRollup, Event, EventRollup, IdentityMerge, StitchedEvent
from .rollups import CENTS_SQL, TYPE_BIT_SQL, analysis_time_zone, day_sql, rollup_lock_sql, rollups_recompute
from .selectors import job_control_allowed

ANONYMOUS, CUSTOMER = IdentityMerge.Kind.ANONYMOUS.value, IdentityMerge.Kind.CUSTOMER.value
EMAIL_PREFIX = "email:"
# The batch's keys, for databases where the store does not stage the batch in SQL (SQLite).
STAGE_KEYS_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS integ_stage (external_id text, event_type text, customer_key text, "
    "anonymous_id text, occurred_at text, email_sha256 text, merge_id bigint)"
)
MOVED_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS integ_moved (event_id bigint, merge_id bigint, customer_key text, old_key text)"
)


def stitching_enabled() -> bool:
    return settings.IDENTITY_STITCHING


def _tables() -> dict[str, str]:
    return {
        "event": Event._meta.db_table,
        "customer": Customer._meta.db_table,
        "merge": IdentityMerge._meta.db_table,
        "stitched": StitchedEvent._meta.db_table,
        "customer_day": CustomerDayRollup._meta.db_table,
        "event_rollup": EventRollup._meta.db_table,
    }


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _json_object() -> str:
    return "jsonb_build_object" if _postgres() else "json_object"


def _least() -> str:
    return "LEAST" if _postgres() else "min"


def _greatest() -> str:
    return "GREATEST" if _postgres() else "max"


# --- Before the insert: the batch under the people it belongs to -------------------------------------------------


def stage_keys(records: list) -> None:
    """Stage the batch's keys where the store did not (SQLite): the stitching statements read `integ_stage`."""
    with connection.cursor() as cursor:
        cursor.execute(STAGE_KEYS_SQL)
        cursor.execute("DELETE FROM integ_stage")
        cursor.executemany(
            "INSERT INTO integ_stage (external_id, event_type, customer_key, anonymous_id, occurred_at, email_sha256)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (r.external_id, r.event_type, r.customer_key, r.anonymous_id, r.occurred_at, r.email_sha256)
                for r in records
                if r.customer_key or r.anonymous_id or r.email_sha256
            ],
        )


# A customer key already joined to another person is stored under that person.
# Statements over the staged batch probe the merges once per staged row with scalar subqueries, which PostgreSQL
# never turns into joins: the merges table grows during a job faster than its statistics, and a planner that
# believes it tiny joins it by scanning the batch once per merge.
def _probe(*, kind: str, column: str, columns: str = "m.id", active: bool = True) -> str:
    undone = "AND m.undone_at IS NULL" if active else ""
    return (
        f"(SELECT {columns} FROM {{merge}} m WHERE m.workspace_id = %(workspace)s AND m.kind = '{kind}' {undone} "
        f"AND m.value = {column})"
    )


# A customer key already joined to another person is stored under that person.
_RESOLVE_KEYS = (
    "UPDATE integ_stage SET (customer_key, merge_id) = "
    + _probe(kind="customer", column="integ_stage.customer_key", columns="m.customer_key, m.id")
    + " WHERE customer_key <> '' AND "
    + _probe(kind="customer", column="integ_stage.customer_key")
    + " IS NOT NULL"
)
# An anonymous id first seen with a customer key joins it (the batch's earliest such event is the evidence).
_LINK_ANONYMOUS = (
    """
INSERT INTO {merge} (workspace_id, kind, value, customer_key, reason, evidence, profile, created_at)
SELECT %(workspace)s, 'anonymous', anonymous_id, customer_key, 'identified',
    {json}('sourceId', %(source)s, 'externalId', external_id, 'eventType', event_type), {json}(), %(now)s
FROM (
    SELECT anonymous_id, customer_key, external_id, event_type,
        row_number() OVER (PARTITION BY anonymous_id ORDER BY occurred_at, external_id) AS n
    FROM integ_stage WHERE anonymous_id <> '' AND customer_key <> ''
) first_seen
WHERE n = 1 AND """
    + _probe(kind="anonymous", column="first_seen.anonymous_id", active=False)
    + """ IS NULL
ORDER BY anonymous_id
ON CONFLICT (workspace_id, kind, value) DO NOTHING
"""
)
_RESOLVE_ANONYMOUS = (
    "UPDATE integ_stage SET (customer_key, merge_id) = "
    + _probe(kind="anonymous", column="integ_stage.anonymous_id", columns="m.customer_key, m.id")
    + " WHERE customer_key = '' AND anonymous_id <> '' AND "
    + _probe(kind="anonymous", column="integ_stage.anonymous_id")
    + " IS NOT NULL"
)


# Whether the batch moves history between people: anonymous events of its identified visitors stored before, or
# customer keys of one hashed e-mail (stored, or arriving now) not joined yet.
_STAGED_HASHES = """
    SELECT email_sha256 AS hash, customer_key AS key FROM integ_stage WHERE email_sha256 <> '' AND customer_key <> ''
    UNION SELECT substr(customer_key, {prefix_length} + 1), customer_key FROM integ_stage
    WHERE customer_key LIKE 'email:%%'
"""
_JOINS_PENDING = (
    """
SELECT 1 FROM integ_stage
WHERE anonymous_id <> '' AND """
    + _probe(kind="anonymous", column="integ_stage.anonymous_id")
    + """ IS NOT NULL AND (
    SELECT e.id FROM {event} e WHERE e.workspace_id = %(workspace)s AND e.customer_key = '' AND e.anonymous_id <> ''
        AND e.anonymous_id = integ_stage.anonymous_id LIMIT 1
) IS NOT NULL
UNION ALL
SELECT 1 FROM ({staged_hashes}) staged
WHERE """
    + _probe(kind="customer", column="staged.key", active=False)
    + """ IS NULL AND (
    SELECT c.id FROM {customer} c WHERE c.workspace_id = %(workspace)s AND c.email_sha256 = staged.hash
        AND c.customer_key <> staged.key AND """
    + _probe(kind="customer", column="c.customer_key", active=False)
    + """ IS NULL LIMIT 1
) IS NOT NULL OR (
    SELECT c.id FROM {customer} c WHERE c.workspace_id = %(workspace)s AND c.customer_key = 'email:' || staged.hash
        AND c.customer_key <> staged.key AND """
    + _probe(kind="customer", column="c.customer_key", active=False)
    + """ IS NULL
) IS NOT NULL
UNION ALL
SELECT 1 FROM ({staged_hashes}) staged GROUP BY hash HAVING count(DISTINCT key) > 1
LIMIT 1
"""
)
_HASHES = """
    SELECT email_sha256 AS hash FROM integ_stage WHERE email_sha256 <> ''
    UNION SELECT substr(customer_key, {prefix_length} + 1) FROM integ_stage WHERE customer_key LIKE 'email:%%'
"""


@dataclass(frozen=True)
class Resolved:
    people: dict[str, str]  # external_id -> customer key, of the staged events stored under another key (SQLite)
    joins: bool  # whether `stitch` moves history between people


def stage_resolve(*, workspace_id: int, source_id: int) -> Resolved:
    """Join the batch's new anonymous ids to their customers, store the staged batch under its people, and tell
    whether storing it moves history between people (the caller then holds the workspace's other stores off)."""
    params = {"workspace": workspace_id, "source": source_id, "now": timezone.now()}
    sql = {**_tables(), "json": _json_object(), "prefix_length": len(EMAIL_PREFIX)}
    with connection.cursor() as cursor:
        cursor.execute(_RESOLVE_KEYS.format(**sql), params)
        cursor.execute(_LINK_ANONYMOUS.format(**sql), params)
        cursor.execute(_RESOLVE_ANONYMOUS.format(**sql), params)
        cursor.execute(_JOINS_PENDING.format(staged_hashes=_STAGED_HASHES.format(**sql), **sql), params)
        joins = cursor.fetchone() is not None
        people = {}
        if not _postgres():
            cursor.execute("SELECT external_id, customer_key FROM integ_stage WHERE merge_id IS NOT NULL")
            people = dict(cursor.fetchall())
    return Resolved(people=people, joins=joins)


# --- After the insert: what the batch was stitched by, earlier history, e-mail joins ---------------------------

_RECORD_STITCHED = """
INSERT INTO {stitched} (event_id, merge_id)
SELECT e.id, s.merge_id FROM integ_stage s
JOIN {event} e ON e.source_id = %(source)s AND e.external_id = s.external_id AND e.customer_key = s.customer_key
WHERE s.merge_id IS NOT NULL
ORDER BY e.id
ON CONFLICT (merge_id, event_id) DO NOTHING
"""
# Anonymous events stored before their visitor was identified (or by a concurrent batch that did not see the join).
_FIND_ANONYMOUS_HISTORY = """
INSERT INTO integ_moved (event_id, merge_id, customer_key, old_key)
SELECT e.id, m.id, m.customer_key, ''
FROM (SELECT DISTINCT anonymous_id FROM integ_stage WHERE anonymous_id <> '') batch
JOIN {merge} m ON m.workspace_id = %(workspace)s AND m.kind = 'anonymous' AND m.undone_at IS NULL
    AND m.value = batch.anonymous_id
JOIN {event} e ON e.workspace_id = %(workspace)s AND e.customer_key = '' AND e.anonymous_id <> ''
    AND e.anonymous_id = batch.anonymous_id
"""
# Customers of the batch's hashed e-mails, numbered per e-mail: 1 is the person the others join.
_EMAIL_GROUPS = """
WITH hashes AS ({hashes}), members AS (
    SELECT DISTINCT h.hash, c.id, c.customer_key, c.email, c.email_sha256, c.first_name, c.last_name
    FROM hashes h JOIN {customer} c ON c.workspace_id = %(workspace)s
        AND (c.email_sha256 = h.hash OR c.customer_key = 'email:' || h.hash)
), numbered AS (
    SELECT hash, id, customer_key, email, email_sha256, first_name, last_name,
        row_number() OVER (PARTITION BY hash ORDER BY CASE WHEN customer_key LIKE 'email:%%' THEN 1 ELSE 0 END, id)
            AS n,
        count(*) OVER (PARTITION BY hash) AS size
    FROM members
)
SELECT hash, id, customer_key, email, email_sha256, first_name, last_name, n FROM numbered
WHERE size > 1 ORDER BY hash, n
"""


def stitch(*, workspace_id: int, source_id: int, joins: bool) -> None:
    """After the staged batch is stored: record its stitched events and, with `joins`, join the customers of its
    hashed e-mails and move the earlier anonymous history of its identified visitors; rollups and totals follow
    the events. On PostgreSQL the caller holds the workspace's exclusive rollup lock when `joins`: the moves touch
    customers in no order a concurrent store could share, so they run while no other store does."""
    params = {"workspace": workspace_id, "source": source_id, "now": timezone.now()}
    sql = {**_tables(), "prefix_length": len(EMAIL_PREFIX)}
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_STITCHED.format(**sql), params)
        if not joins:
            return
        cursor.execute(MOVED_SQL)
        cursor.execute("DELETE FROM integ_moved")
        cursor.execute(_EMAIL_GROUPS.format(hashes=_HASHES.format(**sql), **sql), params)
        groups = cursor.fetchall()
        if groups:  # first: a joined customer's identities lead to its person before the history is looked up
            _email_joins_record(cursor, workspace_id=workspace_id, groups=groups, now=params["now"])
        cursor.execute(_FIND_ANONYMOUS_HISTORY.format(**sql), params)
        moves_apply(cursor, workspace_id=workspace_id)


@dataclass(frozen=True)
class _Member:
    hash: str
    id: int
    customer_key: str
    email: str
    email_sha256: str
    first_name: str
    last_name: str
    n: int


def _email_joins_record(cursor, *, workspace_id: int, groups: list[tuple], now) -> None:
    """Join every customer of a hashed e-mail to the group's first (unless a join was undone before), then queue
    the events of every joined customer that still has events under its own key."""
    members = [_Member(*row) for row in groups]
    people = {m.hash: m.customer_key for m in members if m.n == 1}
    joins = [
        IdentityMerge(
            workspace_id=workspace_id,
            kind=CUSTOMER,
            value=m.customer_key,
            customer_key=people[m.hash],
            reason=IdentityMerge.Reason.SAME_EMAIL,
            evidence={"emailSha256": m.hash, "keys": [people[m.hash], m.customer_key]},
            profile={
                "email": m.email,
                "emailSha256": m.email_sha256,
                "firstName": m.first_name,
                "lastName": m.last_name,
            },
            created_at=now,
        )
        for m in members
        if m.n > 1
    ]
    IdentityMerge.objects.bulk_create(joins, ignore_conflicts=True)
    joined = list(
        IdentityMerge.objects.filter(
            workspace_id=workspace_id, kind=CUSTOMER, undone_at=None, value__in=[j.value for j in joins]
        ).values_list("id", "value", "customer_key")
    )
    for merge_id, key, person in joined:
        _merges_repoint(workspace_id=workspace_id, merge_id=merge_id, absorbed=key, person=person)
    if joined:
        cursor.execute(
            f"""
            INSERT INTO integ_moved (event_id, merge_id, customer_key, old_key)
            SELECT e.id, m.id, m.customer_key, e.customer_key
            FROM {IdentityMerge._meta.db_table} m
            JOIN {Event._meta.db_table} e ON e.workspace_id = m.workspace_id AND e.customer_key = m.value
            WHERE m.id IN ({", ".join(str(int(merge_id)) for merge_id, _key, _person in joined)})
            """
        )


def _merges_repoint(*, workspace_id: int, merge_id: int, absorbed: str, person: str) -> None:
    """Identities joined to the absorbed customer now lead to its person; the join remembers them for undo."""
    repointed = list(
        IdentityMerge.objects.filter(workspace_id=workspace_id, customer_key=absorbed, undone_at=None)
        .exclude(id=merge_id)
        .values_list("id", flat=True)
    )
    if not repointed:
        return
    IdentityMerge.objects.filter(id__in=repointed).update(customer_key=person)
    merge = IdentityMerge.objects.get(id=merge_id)
    merge.evidence = {**merge.evidence, "repointed": sorted({*merge.evidence.get("repointed", []), *repointed})}
    merge.save(update_fields=["evidence"])


# --- Moving events between keys, with their rollups -------------------------------------------------------------


def moves_apply(cursor, *, workspace_id: int) -> int:
    """Move the events queued in `integ_moved` to their new keys, record them as stitched and carry their
    rollups and totals: returns the events moved. Only events still under the key they were found with move
    (a concurrent batch that moved them first wins)."""
    table = _tables()
    cursor.execute(
        f"""
        UPDATE {table["event"]} SET customer_key = mv.customer_key
        FROM integ_moved mv
        WHERE {table["event"]}.id = mv.event_id AND {table["event"]}.workspace_id = %(workspace)s
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
        f"INSERT INTO {table['stitched']} (event_id, merge_id) SELECT event_id, merge_id FROM integ_moved "
        "WHERE true ORDER BY event_id ON CONFLICT (merge_id, event_id) DO NOTHING"
    )
    cursor.execute(_identified_shift_sql(sign="+", moved="mv.old_key = ''"), params)
    cursor.execute(_customers_add_sql(), params)
    cursor.execute(_customer_days_add_sql(), params)
    cursor.execute(  # a customer key whose events all moved to its person is gone (its profile is on the join)
        f"""
        DELETE FROM {table["customer_day"]} WHERE customer_id IN (
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
    return len(moved)


def _moved_keep_only(cursor, moved: list[int]) -> None:
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS integ_moved_ids (event_id bigint)")
    cursor.execute("DELETE FROM integ_moved_ids")
    cursor.executemany("INSERT INTO integ_moved_ids (event_id) VALUES (%s)", [(event_id,) for event_id in moved])
    cursor.execute("DELETE FROM integ_moved WHERE event_id NOT IN (SELECT event_id FROM integ_moved_ids)")


def _identified_shift_sql(*, sign: str, moved: str) -> str:
    """Day totals of identified events grow (`+`) or shrink (`-`) by the queued events matching `moved` (those
    leaving or joining the anonymous key '')."""
    table = _tables()
    return f"""
    UPDATE {table["event_rollup"]} SET
        identified_events = identified_events {sign} x.events,
        identified_value_cents = identified_value_cents {sign} x.cents
    FROM (
        SELECT e.source_id, {day_sql()} AS day, e.event_type, e.currency, count(*) AS events,
            coalesce(sum({CENTS_SQL}), 0) AS cents
        FROM integ_moved mv JOIN {table["event"]} e ON e.id = mv.event_id
        WHERE {moved}
        GROUP BY e.source_id, {day_sql()}, e.event_type, e.currency
    ) x
    WHERE {table["event_rollup"]}.workspace_id = %(workspace)s AND {table["event_rollup"]}.source_id = x.source_id
        AND {table["event_rollup"]}.day = x.day AND {table["event_rollup"]}.event_type = x.event_type
        AND {table["event_rollup"]}.currency = x.currency
    """


def _customers_add_sql() -> str:
    table, least, greatest = _tables(), _least(), _greatest()
    return f"""
    INSERT INTO {table["customer"]} AS c (workspace_id, customer_key, email, email_sha256, first_name, last_name,
        first_seen_at, last_seen_at, event_count, purchase_count, total_value, created_at, updated_at)
    SELECT %(workspace)s, mv.customer_key, '', '', '', '', min(e.occurred_at), max(e.occurred_at), count(*),
        count(CASE WHEN e.event_type = 'purchase' THEN 1 END),
        coalesce(sum(CASE WHEN e.event_type = 'purchase' THEN {CENTS_SQL} END), 0) / 100.0, %(now)s, %(now)s
    FROM integ_moved mv JOIN {table["event"]} e ON e.id = mv.event_id
    WHERE true
    GROUP BY mv.customer_key
    ORDER BY mv.customer_key
    ON CONFLICT (workspace_id, customer_key) DO UPDATE SET
        first_seen_at = {least}(c.first_seen_at, excluded.first_seen_at),
        last_seen_at = {greatest}(c.last_seen_at, excluded.last_seen_at),
        event_count = c.event_count + excluded.event_count,
        purchase_count = c.purchase_count + excluded.purchase_count,
        total_value = c.total_value + excluded.total_value,
        updated_at = excluded.updated_at
    """


def _customer_days_add_sql() -> str:
    table, greatest, least = _tables(), _greatest(), _least()

    def count(event_type: str) -> str:
        return f"count(CASE WHEN e.event_type = '{event_type}' THEN 1 END)"

    def cents(event_type: str) -> str:
        return f"coalesce(sum(CASE WHEN e.event_type = '{event_type}' THEN {CENTS_SQL} END), 0)"

    def latest(event_type: str) -> str:
        return f"max(CASE WHEN e.event_type = '{event_type}' THEN e.occurred_at END)"

    # NULL-safe GREATEST: PostgreSQL's ignores NULLs, SQLite's max() returns NULL with one.
    def latest_of(column: str) -> str:
        return f"coalesce({greatest}(r.{column}, excluded.{column}), r.{column}, excluded.{column})"

    return f"""
    INSERT INTO {table["customer_day"]} AS r (workspace_id, customer_id, day, source_id, events, type_mask,
        purchases, purchase_cents, page_views, add_to_cart, begin_checkout, cart_cents, first_at, last_at,
        last_add_to_cart_at, last_purchase_at)
    SELECT %(workspace)s, c.id, {day_sql()}, e.source_id, count(*), bit_or({TYPE_BIT_SQL}),
        {count("purchase")}, {cents("purchase")}, {count("page_view")}, {count("add_to_cart")},
        {count("begin_checkout")}, {cents("add_to_cart")}, min(e.occurred_at), max(e.occurred_at),
        {latest("add_to_cart")}, {latest("purchase")}
    FROM integ_moved mv JOIN {table["event"]} e ON e.id = mv.event_id
    JOIN {table["customer"]} c ON c.workspace_id = %(workspace)s AND c.customer_key = mv.customer_key
    WHERE true
    GROUP BY c.id, {day_sql()}, e.source_id
    ORDER BY c.id, {day_sql()}, e.source_id
    ON CONFLICT (workspace_id, customer_id, day, source_id) DO UPDATE SET
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
        last_purchase_at = {latest_of("last_purchase_at")}
    """


# --- Undo -------------------------------------------------------------------------------------------------------


def identity_merge_undo(*, merge: IdentityMerge, user) -> IdentityMerge:
    """Undo a join (editors and up): its events go back to the key they had before it (anonymous, or the joined
    customer, whose profile comes back), identities it re-pointed lead to that customer again, and the totals
    and rollups of everyone involved are rebuilt, all in one transaction. The join stays as a tombstone, so the
    pipeline does not make it again. Conflict if already undone."""
    if not job_control_allowed(user=user, workspace_id=merge.workspace_id):
        raise PermissionDenied("Your role cannot undo identity merges.")
    with transaction.atomic(), connection.cursor() as cursor:
        if _postgres():  # no store of the workspace runs meanwhile: none resolves through this join halfway
            cursor.execute(rollup_lock_sql(merge.workspace_id, exclusive=True))
        merge = IdentityMerge.objects.select_for_update().get(id=merge.id)
        if merge.undone_at is not None:
            raise Conflict("This merge was already undone.")
        restored = "" if merge.kind == ANONYMOUS else merge.value
        affected = _undo_events(cursor, merge=merge, restored=restored)
        repointed = merge.evidence.get("repointed", [])
        IdentityMerge.objects.filter(id__in=repointed, undone_at=None).update(customer_key=merge.value)
        merge.undone_at, merge.undone_by = timezone.now(), user
        merge.save(update_fields=["undone_at", "undone_by"])
        rollups_recompute(workspace_id=merge.workspace_id, customer_keys=(affected | {restored}) - {""})
        if restored and merge.profile:
            Customer.objects.filter(workspace_id=merge.workspace_id, customer_key=restored).update(
                email=merge.profile.get("email", ""),
                email_sha256=merge.profile.get("emailSha256", ""),
                first_name=merge.profile.get("firstName", ""),
                last_name=merge.profile.get("lastName", ""),
            )
    return merge


def _undo_events(cursor, *, merge: IdentityMerge, restored: str) -> set[str]:
    """Move the join's events back to `restored`; returns the keys they were under."""
    table = _tables()
    params = {"workspace": merge.workspace_id, "merge": merge.id, "restored": restored}
    params["zone"] = analysis_time_zone(workspace_id=merge.workspace_id)
    cursor.execute(MOVED_SQL)
    cursor.execute("DELETE FROM integ_moved")
    cursor.execute(
        f"""
        INSERT INTO integ_moved (event_id, merge_id, customer_key, old_key)
        SELECT e.id, s.merge_id, %(restored)s, e.customer_key
        FROM {table["stitched"]} s JOIN {table["event"]} e ON e.id = s.event_id
        WHERE s.merge_id = %(merge)s AND e.workspace_id = %(workspace)s
        """,
        params,
    )
    cursor.execute("SELECT DISTINCT old_key FROM integ_moved")
    affected = {row[0] for row in cursor.fetchall()}
    if not restored:
        cursor.execute(_identified_shift_sql(sign="-", moved="mv.customer_key = ''"), params)
    cursor.execute(
        f"""
        UPDATE {table["event"]} SET customer_key = mv.customer_key FROM integ_moved mv
        WHERE {table["event"]}.id = mv.event_id AND {table["event"]}.workspace_id = %(workspace)s
        """,
        params,
    )
    # Later joins that moved these events again no longer apply to them; earlier ones (the chain before) do.
    cursor.execute(
        f"DELETE FROM {table['stitched']} WHERE merge_id >= %(merge)s "
        "AND event_id IN (SELECT event_id FROM integ_moved)",
        params,
    )
    return affected
