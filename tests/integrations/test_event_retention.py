"""Per-workspace event retention: old events go with their keys and rollups, the rollups answer for what remains,
other workspaces keep everything, and on PostgreSQL only the partitions below the cut are touched."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection

from integrations.adapters import gtm
from integrations.models import AnalysisSettings, Customer, DataSource, Event, EventKey, EventRollup
from integrations.partitions import event_partitions, event_partitions_ensure
from integrations.pipeline.runner import batch_ingest
from integrations.retention import event_retention_apply, event_retention_set, event_store_maintain
from integrations.rollups import analysis_time_zone_set, rollups_recompute
from marketing_ai.errors import ApplicationError
from tests.integrations.test_rollups import rollup_rows, totals_only

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 10, 9, tzinfo=UTC)
MONTHS = (6, 7, 8, 9, 10, 11, 12)


def purchase(transaction_id: str, at: str, user: str) -> dict:
    return {
        "event": "purchase",
        "user_id": user,
        "timestamp": at,
        "ecommerce": {"transaction_id": transaction_id, "value": "20.00", "currency": "EUR", "items": []},
    }


def fill(source: DataSource) -> None:
    """Two purchases a month from June to December 2026: `old` only in June, `steady` every month."""
    items = []
    for month in MONTHS:
        items.append(purchase(f"T-{month}-a", f"2026-{month:02d}-05T10:00:00Z", "steady"))
        items.append(purchase(f"T-{month}-b", f"2026-{month:02d}-20T10:00:00Z", "old" if month == 6 else "steady"))
    batch_ingest(source=source, items=items, mapper=gtm.map_item)


@pytest.fixture
def other_source(other_workspace_user):
    return DataSource.objects.create(workspace=other_workspace_user.current_workspace, source_type="gtm", name="Other")


def test_retention_removes_a_workspaces_old_events_with_their_keys_and_rollups_only(gtm_source, other_source):
    fill(gtm_source)
    fill(other_source)
    event_retention_set(workspace_id=gtm_source.workspace_id, months=2)

    result = event_store_maintain(now=NOW)

    mine = Event.objects.filter(workspace_id=gtm_source.workspace_id)
    assert result["eventsRemoved"] == {str(gtm_source.workspace_id): 8}
    assert min(mine.values_list("occurred_at", flat=True)) == datetime(2026, 10, 5, 10, tzinfo=UTC)
    assert mine.count() == 6 == EventKey.objects.filter(workspace_id=gtm_source.workspace_id).count()
    assert Event.objects.filter(workspace_id=other_source.workspace_id).count() == 14
    assert EventKey.objects.filter(workspace_id=other_source.workspace_id).count() == 14
    assert not Customer.objects.filter(workspace_id=gtm_source.workspace_id, customer_key="old").exists()
    steady = Customer.objects.get(workspace_id=gtm_source.workspace_id, customer_key="steady")
    assert (steady.event_count, steady.purchase_count, str(steady.total_value)) == (6, 6, "120.00")
    assert steady.first_seen_at == datetime(2026, 10, 5, 10, tzinfo=UTC)
    assert min(EventRollup.objects.filter(workspace_id=gtm_source.workspace_id).values_list("day", flat=True)) == date(
        2026, 10, 5
    )


def test_after_retention_the_rollups_are_what_a_rebuild_from_the_remaining_events_gives(gtm_source, other_source):
    fill(gtm_source)
    fill(other_source)
    event_retention_set(workspace_id=gtm_source.workspace_id, months=3)
    event_store_maintain(now=NOW)
    kept = totals_only(rollup_rows())

    rollups_recompute(workspace_id=gtm_source.workspace_id)
    rollups_recompute(workspace_id=other_source.workspace_id)

    assert totals_only(rollup_rows()) == kept


def test_the_cut_is_midnight_in_the_workspaces_analysis_time_zone(gtm_source):
    analysis_time_zone_set(workspace_id=gtm_source.workspace_id, time_zone="Asia/Kolkata")
    items = [
        purchase("before", "2026-09-30T18:00:00Z", "a"),  # 23:30 on 30 September in India
        purchase("after", "2026-09-30T19:00:00Z", "a"),  # 00:30 on 1 October in India
    ]
    batch_ingest(source=gtm_source, items=items, mapper=gtm.map_item)

    removed = event_retention_apply(workspace_id=gtm_source.workspace_id, months=2, now=NOW)

    assert removed == 1
    assert list(Event.objects.values_list("external_id", flat=True)) == ["purchase:after"]
    assert list(EventRollup.objects.values_list("day", "events")) == [(date(2026, 10, 1), 1)]


def test_a_kept_event_resent_after_retention_is_still_a_duplicate(gtm_source):
    fill(gtm_source)
    event_retention_apply(workspace_id=gtm_source.workspace_id, months=2, now=NOW)

    _result, inserted = batch_ingest(
        source=gtm_source, items=[purchase("T-11-a", "2026-12-01T10:00:00Z", "steady")], mapper=gtm.map_item
    )

    assert inserted == 0 and Event.objects.count() == 6


def test_workspaces_without_retention_keep_every_event(gtm_source):
    fill(gtm_source)

    result = event_store_maintain(now=NOW)

    assert result["eventsRemoved"] == {} and Event.objects.count() == 14


@pytest.mark.parametrize("months", [0, -1, 121])
def test_a_retention_outside_one_to_120_months_is_refused_with_the_field_named(workspace, months):
    with pytest.raises(ApplicationError) as refused:
        event_retention_set(workspace_id=workspace.id, months=months)

    assert "eventsKeptMonths" in refused.value.errors
    assert not AnalysisSettings.objects.filter(workspace=workspace).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="partitions exist on PostgreSQL")
@pytest.mark.django_db(transaction=True)  # as beat runs it: each step commits before a partition is dropped
def test_retention_reads_only_partitions_below_the_cut_and_drops_those_every_workspace_left(gtm_source, other_source):
    event_partitions_ensure(now=datetime(2026, 6, 1, tzinfo=UTC), ahead=7)
    fill(gtm_source)
    batch_ingest(source=other_source, items=[purchase("x", "2026-08-15T10:00:00Z", "o")], mapper=gtm.map_item)
    event_retention_set(workspace_id=gtm_source.workspace_id, months=2)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN DELETE FROM integrations_event WHERE workspace_id = %s AND occurred_at < %s",
            [gtm_source.workspace_id, datetime(2026, 10, 1, tzinfo=UTC)],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "p2026_09" in plan and "p2026_10" not in plan and "p2026_12" not in plan

    result = event_store_maintain(now=NOW)

    # Emptied (June, July) or never used (March to May) and older than the window (September on): dropped.
    assert result["partitionsDropped"] == [f"integrations_event_p2026_{month:02d}" for month in (3, 4, 5, 6, 7)]
    months = {partition.month.month for partition in event_partitions() if partition.month.year == 2026}
    assert {8, 9, 10, 11, 12} <= months and not {3, 4, 5, 6, 7} & months
    assert Event.objects.filter(workspace_id=other_source.workspace_id).count() == 1
