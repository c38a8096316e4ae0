"""The event store's upkeep, run daily by beat: month partitions ahead of time, each workspace's event retention,
and past partitions dropped once no workspace has events left in them (DESIGN §9).

Retention is per workspace (`AnalysisSettings.events_kept_months`): the events before the first day of the month
that many months before the current one, in the workspace's analysis time zone, are removed with their keys.
The cut falls on a day boundary of that zone, which is what the rollups are bucketed by, so the rollups of the
days before it are deleted whole and the ones after it are untouched: the rollups summarize exactly the events
that remain. The customers those days touched get their totals recomputed from what remains (one left without
events goes), as after deleting a source. Rows go by the workspace's range of the (workspace_id, occurred_at)
key in the partitions below the cut only (partition pruning), never by a scan of the whole table; a partition
every workspace has left is then dropped whole. An event older than the cut that arrives later is stored and
removed at the next run.
"""

import zoneinfo
from datetime import date, datetime, time

from django.db import connection, transaction

from marketing_ai.errors import ApplicationError

from .models import (
    AnalysisSettings,
    Customer,
    CustomerDayRollup,
    CustomerDaySet,
    Event,
    EventKey,
    EventRollup,
    PurchaseRollup,
)
from .partitions import event_partitions_drop_empty, event_partitions_ensure, month_add
from .rollups import analysis_time_zone, rollup_lock_sql, rollups_recompute

KEPT_MONTHS_MAX = 120

# The events' keys go with the events, matched on the rows the DELETE removed (the key's primary key finds each).
_DELETE_EVENTS_AND_KEYS = f"""
WITH gone AS (
    DELETE FROM {Event._meta.db_table} WHERE workspace_id = %(workspace)s AND occurred_at < %(cut)s
    RETURNING source_id, external_id
)
DELETE FROM {EventKey._meta.db_table} k USING gone
WHERE k.workspace_id = %(workspace)s AND k.source_id = gone.source_id AND k.external_id = gone.external_id
"""


def event_retention_set(*, workspace_id: int, months: int | None) -> AnalysisSettings:
    """Keep the workspace's events for `months` whole months besides the current one (None keeps them all); the
    next daily run removes what is older."""
    if months is not None and not 1 <= months <= KEPT_MONTHS_MAX:
        raise ApplicationError(
            "Some fields are invalid.",
            errors={"eventsKeptMonths": [f"Keep events between 1 and {KEPT_MONTHS_MAX} months, or leave it empty."]},
        )
    settings, _ = AnalysisSettings.objects.update_or_create(
        workspace_id=workspace_id, defaults={"events_kept_months": months}
    )
    return settings


def event_retention_cut(*, workspace_id: int, months: int, now: datetime) -> tuple[date, datetime]:
    """The first kept day and its first moment: the first of the month `months` before the current one, in the
    workspace's analysis time zone."""
    zone = zoneinfo.ZoneInfo(analysis_time_zone(workspace_id=workspace_id))
    local = now.astimezone(zone).date()
    first_kept = month_add(date(local.year, local.month, 1), -months)
    return first_kept, datetime.combine(first_kept, time(0), tzinfo=zone)


def event_retention_apply(*, workspace_id: int, months: int, now: datetime) -> int:
    """Remove the workspace's events (and their keys and rollups) older than its retention; recompute the totals
    of the customers they touched. Returns the events removed. One transaction; stores wait for it."""
    first_kept, cut = event_retention_cut(workspace_id=workspace_id, months=months, now=now)
    if not Event.objects.filter(workspace_id=workspace_id, occurred_at__lt=cut).exists():
        return 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(rollup_lock_sql(workspace_id, exclusive=True))
                cursor.execute(_DELETE_EVENTS_AND_KEYS, {"workspace": workspace_id, "cut": cut})
                removed = cursor.rowcount
        else:
            EventKey.objects.filter(workspace_id=workspace_id, occurred_at__lt=cut).delete()
            removed, _ = Event.objects.filter(workspace_id=workspace_id, occurred_at__lt=cut).delete()
        old_days = CustomerDayRollup.objects.filter(workspace_id=workspace_id, day__lt=first_kept)
        keys = list(
            Customer.objects.filter(id__in=old_days.values("customer_id")).values_list("customer_key", flat=True)
        )
        for rollup in (EventRollup, PurchaseRollup, CustomerDayRollup, CustomerDaySet):
            rollup.objects.filter(workspace_id=workspace_id, day__lt=first_kept).delete()
        rollups_recompute(workspace_id=workspace_id, customer_keys=keys)
    return removed


def event_store_maintain(*, now: datetime) -> dict:
    """Create the coming months' partitions (moving in what the default partition caught), apply each
    workspace's retention, then drop the past partitions no event is left in. Idempotent."""
    created = event_partitions_ensure(now=now)
    removed = {}
    for workspace_id, months in AnalysisSettings.objects.filter(events_kept_months__isnull=False).values_list(
        "workspace_id", "events_kept_months"
    ):
        removed[str(workspace_id)] = event_retention_apply(workspace_id=workspace_id, months=months, now=now)
    dropped = event_partitions_drop_empty(now=now)
    return {"partitionsCreated": created, "eventsRemoved": removed, "partitionsDropped": dropped}
