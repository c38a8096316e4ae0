"""Undoing an identity merge: its events, its customer and its re-pointed identities back, rollups rebuilt."""

from django.db import connection, transaction
from django.utils import timezone

from accounts.policy import policy_require
from integrations.models import Customer, IdentityMerge
from integrations.rollups import analysis_time_zone, rollup_lock_sql, rollups_recompute
from marketing_ai.errors import Conflict

from .moves import (
    ANONYMOUS,
    MOVED_COLUMNS,
    MOVED_EVENT_FIELDS,
    identified_shift_sql,
    moved_table_sql,
    on_postgres,
    tables,
)

# --- Undo -------------------------------------------------------------------------------------------------------


def identity_merge_undo(*, merge: IdentityMerge, user) -> IdentityMerge:
    """Undo a join (editors and up; `user=None` is staff in the admin): its events go back to the key they had
    before it (anonymous, or the joined customer, whose profile comes back), identities it re-pointed lead to
    that customer again, and the totals and rollups of everyone involved are rebuilt, all in one transaction.
    The join stays as a tombstone, so the pipeline does not make it again. Conflict if already undone."""
    policy_require(user=user, workspace=merge.workspace_id, action="identities.undo")
    with transaction.atomic(), connection.cursor() as cursor:
        if on_postgres():  # no store of the workspace runs meanwhile: none resolves through this join halfway
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
    table = tables()
    params = {"workspace": merge.workspace_id, "merge": merge.id, "restored": restored}
    params["zone"] = analysis_time_zone(workspace_id=merge.workspace_id)
    cursor.execute(moved_table_sql())
    cursor.execute("DELETE FROM integ_moved")
    cursor.execute(
        f"""
        INSERT INTO integ_moved ({MOVED_COLUMNS})
        SELECT e.id, e.occurred_at, s.merge_id, %(restored)s, e.customer_key, {MOVED_EVENT_FIELDS}
        FROM {table["stitched"]} s JOIN {table["event"]} e
            ON e.workspace_id = %(workspace)s AND e.occurred_at = s.occurred_at AND e.id = s.event_id
        WHERE s.merge_id = %(merge)s
        """,
        params,
    )
    cursor.execute("SELECT DISTINCT old_key FROM integ_moved")
    affected = {row[0] for row in cursor.fetchall()}
    if not restored:
        cursor.execute(identified_shift_sql(sign="-", moved="mv.customer_key = ''"), params)
    cursor.execute(
        f"""
        UPDATE {table["event"]} SET customer_key = mv.customer_key FROM integ_moved mv
        WHERE {table["event"]}.workspace_id = %(workspace)s AND {table["event"]}.occurred_at = mv.occurred_at
            AND {table["event"]}.id = mv.event_id
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
