"""The event store: one row per (source, external_id) across every month, rows in their month's partition on
PostgreSQL, and a default partition whose events move into partitions of their own."""

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import close_old_connections, connection

from integrations.adapters import gtm
from integrations.models import Customer, CustomerDayRollup, DataSource, Event, EventKey, EventRollup
from integrations.partitions import DEFAULT_PARTITION, event_partitions, event_partitions_ensure, partition_name
from integrations.pipeline.runner import batch_ingest
from integrations.rollups import rollups_recompute
from tests.integrations.test_rollups import rollup_rows, totals_only

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="partitions exist on PostgreSQL")


def purchase(transaction_id: str, at: str, value: str = "30.00", user: str = "u1") -> dict:
    return {
        "event": "purchase",
        "user_id": user,
        "timestamp": at,
        "ecommerce": {"transaction_id": transaction_id, "value": value, "currency": "EUR", "items": []},
    }


def homes() -> dict[str, str]:
    """Each stored event's external id -> the table that holds its row (the partition on PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT external_id, tableoid::regclass::text FROM integrations_event")
        return {external_id.removeprefix("purchase:"): table for external_id, table in cursor.fetchall()}


def test_an_event_resent_in_another_months_batch_with_another_time_stays_one_row(gtm_source):
    batch_ingest(source=gtm_source, items=[purchase("T-1", "2026-10-31T23:30:00Z")], mapper=gtm.map_item)

    result, inserted = batch_ingest(
        source=gtm_source, items=[purchase("T-1", "2026-11-02T08:00:00Z", value="99.00")], mapper=gtm.map_item
    )

    assert result.accepted == 1 and inserted == 0
    row = Event.objects.get()
    assert row.occurred_at == datetime(2026, 10, 31, 23, 30, tzinfo=UTC) and str(row.value) == "30.00"
    assert list(EventKey.objects.values_list("external_id", "occurred_at")) == [("purchase:T-1", row.occurred_at)]
    customer = Customer.objects.get()
    assert (customer.event_count, customer.purchase_count, str(customer.total_value)) == (1, 1, "30.00")
    assert sum(EventRollup.objects.values_list("events", flat=True)) == 1


def test_the_first_of_an_external_ids_copies_in_one_batch_is_the_one_stored(gtm_source):
    items = [purchase("T-1", "2026-09-05T10:00:00Z", "10.00"), purchase("T-1", "2026-11-05T10:00:00Z", "20.00")]

    result, inserted = batch_ingest(source=gtm_source, items=items, mapper=gtm.map_item)

    assert inserted == 1
    assert list(Event.objects.values_list("occurred_at", "value")) == [
        (datetime(2026, 9, 5, 10, tzinfo=UTC), pytest.approx(10))
    ]


def test_the_same_external_id_from_two_sources_is_two_events(gtm_source, pixel_source):
    batch_ingest(source=gtm_source, items=[purchase("T-1", "2026-11-01T10:00:00Z")], mapper=gtm.map_item)
    batch_ingest(source=pixel_source, items=[purchase("T-1", "2026-12-01T10:00:00Z")], mapper=gtm.map_item)

    assert Event.objects.count() == 2 and EventKey.objects.count() == 2


def test_rollups_after_resends_across_months_match_a_rebuild_from_the_rows(gtm_source):
    months = ["2026-08-15", "2026-09-15", "2026-10-15", "2026-11-15"]
    for shift, _ in enumerate(months):
        items = [
            purchase(f"T-{n}", f"{months[(n + shift) % 4]}T12:00:00Z", f"{n}.50", user=f"u{n % 3}") for n in range(8)
        ]
        batch_ingest(source=gtm_source, items=items, mapper=gtm.map_item)
    kept = totals_only(rollup_rows())

    rollups_recompute(workspace_id=gtm_source.workspace_id)

    assert Event.objects.count() == 8
    assert totals_only(rollup_rows()) == kept
    assert sum(CustomerDayRollup.objects.values_list("purchases", flat=True)) == 8


@postgres_only
def test_each_event_row_lives_in_its_months_partition(gtm_source):
    event_partitions_ensure(now=datetime(2026, 9, 1, tzinfo=UTC), ahead=3)
    items = [purchase(f"T-{month}", f"2026-{month:02d}-10T00:00:00Z") for month in (9, 10, 11, 12)]

    batch_ingest(source=gtm_source, items=items, mapper=gtm.map_item)

    assert homes() == {f"T-{month}": partition_name(date(2026, month, 1)) for month in (9, 10, 11, 12)}


@postgres_only
def test_the_default_partition_catches_a_month_without_one_and_beat_moves_it_into_its_own(gtm_source):
    batch_ingest(source=gtm_source, items=[purchase("T-old", "2019-03-10T10:00:00Z")], mapper=gtm.map_item)
    assert homes() == {"T-old": DEFAULT_PARTITION}
    ids_before = list(Event.objects.values_list("id", "external_id", "occurred_at"))

    created = event_partitions_ensure(now=datetime(2026, 11, 1, tzinfo=UTC), ahead=1)

    assert "integrations_event_p2019_03" in created
    assert homes() == {"T-old": "integrations_event_p2019_03"}
    assert list(Event.objects.values_list("id", "external_id", "occurred_at")) == ids_before
    _result, inserted = batch_ingest(
        source=gtm_source, items=[purchase("T-old", "2026-11-10T10:00:00Z")], mapper=gtm.map_item
    )
    assert inserted == 0 and Event.objects.count() == 1
    assert event_partitions_ensure(now=datetime(2026, 11, 1, tzinfo=UTC), ahead=1) == []
    months = [partition.month for partition in event_partitions()]
    assert months == sorted(months) and len(months) == len(set(months))


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_event_with_different_months_stored_at_once_make_one_row(gtm_source):
    """Concurrent stores of the same key: the second waits on the key's unique index and then drops its copy."""
    barrier, results, errors = threading.Barrier(2), [], []

    def deliver(at: str):
        try:
            barrier.wait(timeout=10)
            results.append(batch_ingest(source=gtm_source, items=[purchase("T-1", at)], mapper=gtm.map_item)[1])
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=deliver, args=(at,)) for at in ("2026-10-31T23:00:00Z", "2026-11-01T01:00:00Z")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == [] and sorted(results) == [0, 1]
    assert Event.objects.count() == 1 and EventKey.objects.count() == 1


@postgres_only
def test_the_daily_task_keeps_partitions_ahead_and_drops_empty_past_ones(settings):
    from django.utils import timezone

    from integrations.partitions import month_add, month_of
    from integrations.tasks import event_store_maintain_task

    settings.EVENT_PARTITIONS_AHEAD = 5
    event_partitions_ensure(now=datetime(2025, 1, 1, tzinfo=UTC), ahead=0)  # an empty past month

    result = event_store_maintain_task.delay().get()

    current = month_of(timezone.now())
    months = [partition.month for partition in event_partitions()]
    assert [month_add(current, n) for n in range(6)] == [m for m in months if m >= current]
    assert "integrations_event_p2025_01" in result["partitionsDropped"]
    assert date(2025, 1, 1) not in months


def test_deleting_a_source_takes_its_events_and_keys_and_leaves_the_other_sources(gtm_source, pixel_source):
    from integrations.services import data_source_delete

    for source in (gtm_source, pixel_source):
        batch_ingest(source=source, items=[purchase("T-1", "2026-11-01T10:00:00Z")], mapper=gtm.map_item)

    data_source_delete(source=gtm_source)

    assert list(Event.objects.values_list("source_id", flat=True)) == [pixel_source.id]
    assert list(EventKey.objects.values_list("source_id", flat=True)) == [pixel_source.id]


def test_the_admins_delete_action_goes_through_the_same_service(admin_client, gtm_source, pixel_source):
    from django.urls import reverse

    batch_ingest(source=gtm_source, items=[purchase("T-1", "2026-11-01T10:00:00Z")], mapper=gtm.map_item)

    response = admin_client.post(
        reverse("admin:integrations_datasource_changelist"),
        {"action": "delete_selected", "_selected_action": [gtm_source.id], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Event.objects.exists() and not EventKey.objects.exists() and not Customer.objects.exists()
    assert list(DataSource.objects.values_list("id", flat=True)) == [pixel_source.id]


def test_deleting_a_workspace_takes_its_events_and_keys(gtm_source, other_workspace_user):
    other = DataSource.objects.create(workspace=other_workspace_user.current_workspace, source_type="gtm", name="O")
    for source in (gtm_source, other):
        batch_ingest(source=source, items=[purchase("T-1", "2026-11-01T10:00:00Z")], mapper=gtm.map_item)

    gtm_source.workspace.delete()

    assert list(Event.objects.values_list("source_id", flat=True)) == [other.id]
    assert list(EventKey.objects.values_list("source_id", flat=True)) == [other.id]


def test_the_overview_reads_rollups_only_so_the_event_partitions_do_not_change_its_cost(gtm_source):
    import re

    from django.test.utils import CaptureQueriesContext

    from integrations.analysis.selectors import analysis_overview

    items = [purchase(f"T-{n}", f"2026-11-{n + 1:02d}T10:00:00Z", user=f"u{n % 3}") for n in range(9)]
    batch_ingest(source=gtm_source, items=items, mapper=gtm.map_item)

    with CaptureQueriesContext(connection) as captured:
        overview = analysis_overview(
            workspace=gtm_source.workspace, date_from=date(2026, 11, 1), date_to=date(2026, 11, 30)
        )

    assert overview["rowCounts"]["events"] == 9
    events_table = re.compile(r"integrations_event(?![a-z_])")
    assert not [query["sql"] for query in captured.captured_queries if events_table.search(query["sql"])]
