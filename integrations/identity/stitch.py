"""The pipeline's stitching steps over the staged batch: `stage_resolve` before the insert, `stitch` after it."""

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from integrations.models import Customer, IdentityMerge

from .moves import (
    CUSTOMER,
    EMAIL_PREFIX,
    MOVED_COLUMNS,
    MOVED_EVENT_FIELDS,
    json_object_sql,
    moved_table_sql,
    moves_apply,
    on_postgres,
    tables,
)

# The batch's keys, for databases where the store does not stage the batch in SQL (SQLite).
STAGE_KEYS_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS integ_stage (external_id text, event_type text, customer_key text, "
    "anonymous_id text, occurred_at text, email_sha256 text, merge_id bigint)"
)


# --- Before the insert: the batch under the people it belongs to -------------------------------------------------


def stage_keys(records: list) -> None:
    """Stage the batch's keys where the store did not (SQLite): the stitching statements read `integ_stage`; its
    times as the events' column holds them, so the two compare equal."""
    stored = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(STAGE_KEYS_SQL)
        cursor.execute("DELETE FROM integ_stage")
        cursor.executemany(
            "INSERT INTO integ_stage (external_id, event_type, customer_key, anonymous_id, occurred_at, email_sha256)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (r.external_id, r.event_type, r.customer_key, r.anonymous_id, stored(r.occurred_at), r.email_sha256)
                for r in records
                if r.customer_key or r.anonymous_id or r.email_sha256
            ],
        )


# Statements over the staged batch look up merges, customers and events with scalar subqueries (one index probe per
# staged row or distinct id), which PostgreSQL never turns into joins: the statistics of the tables a job is filling
# lag behind them and the staging table has none, so a join the planner believes cheap scans the workspace's
# merges, customers or events for every batch.
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


# The batch's identified visitors with anonymous events stored: by an earlier batch, or by a concurrent one that did
# not see the join yet. Usually none.
_VISITORS_WITH_HISTORY = (
    """
SELECT visitor.anonymous_id FROM (SELECT DISTINCT anonymous_id FROM integ_stage WHERE anonymous_id <> '') visitor
WHERE (
    SELECT e.id FROM {event} e WHERE e.workspace_id = %(workspace)s AND e.customer_key = '' AND e.anonymous_id <> ''
        AND e.anonymous_id = visitor.anonymous_id LIMIT 1
) IS NOT NULL AND """
    + _probe(kind="anonymous", column="visitor.anonymous_id")
    + """ IS NOT NULL
"""
)
# The batch's hashed e-mails whose customers are not all one person yet: a customer key of the batch (never joined
# before) shares one with another customer, stored or arriving now, that was never joined either. Usually none.
_STAGED_HASHES = """
    SELECT email_sha256 AS hash, customer_key AS key FROM integ_stage WHERE email_sha256 <> '' AND customer_key <> ''
    UNION SELECT substr(customer_key, {prefix_length} + 1), customer_key FROM integ_stage
    WHERE customer_key LIKE 'email:_%%'
"""
_HASHES_TO_JOIN = (
    f"""
SELECT staged.hash FROM ({_STAGED_HASHES}) staged
WHERE """
    + _probe(kind="customer", column="staged.key", active=False)
    + """ IS NULL AND ((
    SELECT c.id FROM {customer} c WHERE c.workspace_id = %(workspace)s AND c.email_sha256 <> ''
        AND c.email_sha256 = staged.hash AND c.customer_key <> staged.key AND """
    + _probe(kind="customer", column="c.customer_key", active=False)
    + """ IS NULL LIMIT 1
) IS NOT NULL OR (
    SELECT c.id FROM {customer} c WHERE c.workspace_id = %(workspace)s AND c.customer_key = 'email:' || staged.hash
        AND c.customer_key <> staged.key AND """
    + _probe(kind="customer", column="c.customer_key", active=False)
    + f""" IS NULL
) IS NOT NULL)
UNION
SELECT hash FROM ({_STAGED_HASHES}) staged GROUP BY hash HAVING count(DISTINCT key) > 1
"""
)
# Whether storing the batch moves history between people, so that it holds the workspace's other stores off. A
# batch where nothing joins costs a few index probes per distinct anonymous id and hashed e-mail.
_JOINS_PENDING = f"""
SELECT 1 FROM ({_VISITORS_WITH_HISTORY}) history
UNION ALL
SELECT 1 FROM ({_HASHES_TO_JOIN}) hashes
LIMIT 1
"""


@dataclass(frozen=True)
class Resolved:
    people: dict[str, str]  # external_id -> customer key, of the staged events stored under another key (SQLite)
    joins: bool  # whether `stitch` moves history between people


def stage_resolve(*, workspace_id: int, source_id: int) -> Resolved:
    """Join the batch's new anonymous ids to their customers, store the staged batch under its people, and tell
    whether storing it moves history between people (the caller then holds the workspace's other stores off)."""
    params = {"workspace": workspace_id, "source": source_id, "now": timezone.now()}
    sql = {**tables(), "json": json_object_sql(), "prefix_length": len(EMAIL_PREFIX)}
    with connection.cursor() as cursor:
        cursor.execute(_RESOLVE_KEYS.format(**sql), params)
        cursor.execute(_LINK_ANONYMOUS.format(**sql), params)
        cursor.execute(_RESOLVE_ANONYMOUS.format(**sql), params)
        cursor.execute(_JOINS_PENDING.format(**sql), params)
        joins = cursor.fetchone() is not None
        people = {}
        if not on_postgres():
            cursor.execute("SELECT external_id, customer_key FROM integ_stage WHERE merge_id IS NOT NULL")
            people = dict(cursor.fetchall())
    return Resolved(people=people, joins=joins)


# --- After the insert: what the batch was stitched by, earlier history, e-mail joins ---------------------------

# The staged event's row, probed by the events' key: (workspace_id, occurred_at) leads it and finds the partition.
# Materialized, so each row is probed once.
_RECORD_STITCHED = """
WITH stored AS MATERIALIZED (
    SELECT s.occurred_at, s.merge_id, (
        SELECT e.id FROM {event} e WHERE e.workspace_id = %(workspace)s AND e.occurred_at = s.occurred_at
            AND e.source_id = %(source)s AND e.external_id = s.external_id AND e.customer_key = s.customer_key
    ) AS event_id
    FROM integ_stage s WHERE s.merge_id IS NOT NULL
)
INSERT INTO {stitched} (event_id, occurred_at, merge_id)
SELECT event_id, occurred_at, merge_id FROM stored WHERE event_id IS NOT NULL
ORDER BY event_id
ON CONFLICT (merge_id, event_id) DO NOTHING
"""
# Queued to move to their person, one statement per visitor or joined key (the constant leads the indexes whatever
# the planner believes about the tables' sizes): a visitor's anonymous history, a joined customer's events.
_QUEUE_ANONYMOUS_HISTORY = f"""
INSERT INTO integ_moved ({MOVED_COLUMNS})
SELECT e.id, e.occurred_at, m.id, m.customer_key, '', {MOVED_EVENT_FIELDS}
FROM {{merge}} m JOIN {{event}} e ON e.workspace_id = m.workspace_id AND e.customer_key = '' AND e.anonymous_id <> ''
    AND e.anonymous_id = m.value
WHERE m.workspace_id = %(workspace)s AND m.kind = 'anonymous' AND m.undone_at IS NULL AND m.value = %(value)s
"""
_QUEUE_JOINED_KEY = f"""
INSERT INTO integ_moved ({MOVED_COLUMNS})
SELECT e.id, e.occurred_at, m.id, m.customer_key, e.customer_key, {MOVED_EVENT_FIELDS}
FROM {{merge}} m JOIN {{event}} e ON e.workspace_id = m.workspace_id AND e.customer_key = m.value
WHERE m.id = %(merge)s AND m.value = %(value)s
"""


def stitch(*, workspace_id: int, source_id: int, joins: bool) -> None:
    """After the staged batch is stored: record its stitched events and, with `joins`, join the customers of its
    hashed e-mails and move the earlier anonymous history of its identified visitors; rollups and totals follow
    the events. On PostgreSQL the caller holds the workspace's exclusive rollup lock when `joins`: the moves touch
    customers in no order a concurrent store could share, so they run while no other store does."""
    params = {"workspace": workspace_id, "source": source_id, "now": timezone.now()}
    sql = {**tables(), "prefix_length": len(EMAIL_PREFIX)}
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_STITCHED.format(**sql), params)
        if not joins:
            return
        cursor.execute(moved_table_sql())
        cursor.execute("DELETE FROM integ_moved")
        groups = _email_groups(cursor, workspace_id=workspace_id)
        if groups:  # first: a joined customer's identities lead to its person before the history is looked up
            _email_joins_record(cursor, workspace_id=workspace_id, groups=groups, now=params["now"])
        cursor.execute(_VISITORS_WITH_HISTORY.format(**sql), params)
        visitors = [row[0] for row in cursor.fetchall()]
        if visitors:
            cursor.executemany(
                _QUEUE_ANONYMOUS_HISTORY.format(**sql), [{"workspace": workspace_id, "value": v} for v in visitors]
            )
        moves_apply(cursor, workspace_id=workspace_id)


@dataclass(frozen=True)
class _Member:
    id: int
    customer_key: str
    email: str
    email_sha256: str
    first_name: str
    last_name: str


def _email_groups(cursor, *, workspace_id: int) -> dict[str, list[_Member]]:
    """The customers of each hashed e-mail of the batch still to join (by their e-mail or their `email:` key), its
    person first: the first real id (not an `email:` key), then the oldest. Only the e-mails still to join are
    read: short lists, which the planner reads through the e-mail and key indexes."""
    cursor.execute(_HASHES_TO_JOIN.format(**tables(), prefix_length=len(EMAIL_PREFIX)), {"workspace": workspace_id})
    hashes = {row[0] for row in cursor.fetchall()}
    if not hashes:
        return {}
    customers = Customer.objects.filter(
        (Q(email_sha256__in=hashes) & ~Q(email_sha256="")) | Q(customer_key__in=[EMAIL_PREFIX + h for h in hashes]),
        workspace_id=workspace_id,
    ).values_list("id", "customer_key", "email", "email_sha256", "first_name", "last_name")
    groups: dict[str, list[_Member]] = defaultdict(list)
    for row in customers:
        member = _Member(*row)
        keyed = member.customer_key.removeprefix(EMAIL_PREFIX) if member.customer_key.startswith(EMAIL_PREFIX) else ""
        for email_hash in {member.email_sha256, keyed} & hashes:
            groups[email_hash].append(member)
    return {
        email_hash: sorted(group, key=lambda m: (m.customer_key.startswith(EMAIL_PREFIX), m.id))
        for email_hash, group in sorted(groups.items())
        if len(group) > 1
    }


def _email_joins_record(cursor, *, workspace_id: int, groups: dict[str, list[_Member]], now) -> None:
    """Join every customer of a hashed e-mail to the group's first (unless a join was undone before), then queue
    the events of every joined customer that still has events under its own key."""
    joins = [
        IdentityMerge(
            workspace_id=workspace_id,
            kind=CUSTOMER,
            value=m.customer_key,
            customer_key=person.customer_key,
            reason=IdentityMerge.Reason.SAME_EMAIL,
            evidence={"emailSha256": email_hash, "keys": [person.customer_key, m.customer_key]},
            profile={
                "email": m.email,
                "emailSha256": m.email_sha256,
                "firstName": m.first_name,
                "lastName": m.last_name,
            },
            created_at=now,
        )
        for email_hash, (person, *others) in groups.items()
        for m in others
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
        cursor.executemany(
            _QUEUE_JOINED_KEY.format(**tables()), [{"merge": merge_id, "value": key} for merge_id, key, _ in joined]
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
