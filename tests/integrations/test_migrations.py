"""The event store's migrations convert a database with data: every event kept once, the rollups built from it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.integrations.test_rollups import rollup_rows

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_ROLLUPS = [("integrations", "0007_audience_push")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    """Every app's latest migration: going back unapplies other apps' migrations that depend on integrations
    (campaigns' audience field), and they must come back too."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_database(workspace):
    """The database as it stood before the rollups, with events of two sources and their customers."""
    apps = migrate(BEFORE_ROLLUPS)
    source_model, event_model = apps.get_model("integrations", "DataSource"), apps.get_model("integrations", "Event")
    customer_model = apps.get_model("integrations", "Customer")
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    shop = source_model.objects.create(workspace_id=workspace.id, source_type="shopify", name="Shop", write_key="k1")
    site = source_model.objects.create(workspace_id=workspace.id, source_type="gtm", name="Site", write_key="k2")
    events = []
    for n in range(120):
        key = "" if n % 7 == 0 else f"c{n % 9}"
        kind = ["page_view", "view_item", "add_to_cart", "purchase"][n % 4]
        events.append(
            event_model(
                workspace_id=workspace.id,
                source_id=(shop if n % 2 else site).id,
                external_id=f"e{n}",
                event_type=kind,
                customer_key=key,
                occurred_at=now - timedelta(days=n % 40, hours=n % 24),
                received_at=now,
                value="12.50" if kind in ("add_to_cart", "purchase") else None,
                currency="EUR" if kind in ("add_to_cart", "purchase") else "",
            )
        )
    event_model.objects.bulk_create(events)
    for key in {e.customer_key for e in events if e.customer_key}:
        mine = [e for e in events if e.customer_key == key]
        customer_model.objects.create(
            workspace_id=workspace.id,
            customer_key=key,
            first_seen_at=min(e.occurred_at for e in mine),
            last_seen_at=max(e.occurred_at for e in mine),
            event_count=len(mine),
        )
    yield workspace
    migrate(latest())


def test_migrating_forward_builds_the_rollups_of_the_existing_events(old_database):
    from integrations.models import EventRollup
    from integrations.rollups import rollups_recompute

    migrate(latest())
    built = rollup_rows()
    rollups_recompute(workspace_id=old_database.id)
    rebuilt = rollup_rows()

    assert sum(EventRollup.objects.values_list("events", flat=True)) == 120
    for table in ("EventRollup", "CustomerDayRollup", "PurchaseRollup"):
        assert built[table] == rebuilt[table], table


BEFORE_PARTITIONS = [("integrations", "0011_saved_audiences")]
EVENT_COLUMNS = ("id", "source_id", "external_id", "event_type", "customer_key", "occurred_at", "value", "properties")


def stored_events():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM integrations_event ORDER BY id")
        return cursor.fetchall()


@pytest.fixture
def unpartitioned_database(workspace):
    """The database as it stood before the partitioned store: events of two sources over eight months, some
    sent twice (with another time, as a resent event comes back), which its unique key turned away."""
    apps = migrate(BEFORE_PARTITIONS)
    source_model, event_model = apps.get_model("integrations", "DataSource"), apps.get_model("integrations", "Event")
    shop = source_model.objects.create(workspace_id=workspace.id, source_type="shopify", name="Shop", write_key="k1")
    site = source_model.objects.create(workspace_id=workspace.id, source_type="gtm", name="Site", write_key="k2")
    start = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)

    def event(n, shift=timedelta(0)):
        return event_model(
            workspace_id=workspace.id,
            source_id=(shop if n % 2 else site).id,
            external_id=f"e{n}",
            event_type=["page_view", "purchase"][n % 2],
            customer_key=f"c{n % 5}",
            occurred_at=start + timedelta(days=n * 3) + shift,
            received_at=start,
            value="12.50" if n % 2 else None,
            currency="EUR" if n % 2 else "",
            properties={"n": n},
        )

    event_model.objects.bulk_create([event(n) for n in range(80)])
    resent = [event(n, shift=timedelta(days=40)) for n in range(0, 80, 7)]
    event_model.objects.bulk_create(resent, ignore_conflicts=True)
    yield stored_events()
    migrate(latest())


def test_converting_to_the_partitioned_store_keeps_every_event_once(unpartitioned_database):
    from integrations.models import Event, EventKey

    before = unpartitioned_database
    assert len(before) == 80

    migrate(latest())

    assert stored_events() == before
    columns = ("source_id", "external_id", "occurred_at")
    assert set(EventKey.objects.values_list(*columns)) == set(Event.objects.values_list(*columns))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT occurred_at, tableoid::regclass::text FROM integrations_event")
            homes = cursor.fetchall()
        assert all(table == f"integrations_event_p{at.astimezone(UTC):%Y_%m}" for at, table in homes)
        assert len({table for _at, table in homes}) == 9  # March to November


def test_after_the_conversion_resent_events_stay_out_and_new_ones_get_new_ids(unpartitioned_database, workspace):
    from integrations.models import DataSource, Event
    from integrations.pipeline.runner import batch_ingest

    migrate(latest())
    site = DataSource.objects.get(write_key="k2")
    resend = [{"event": "page_view", "event_id": f"e{n}", "timestamp": "2026-12-01T10:00:00Z"} for n in (0, 2, 4)]

    def mapper(item, received_at):  # the old rows' external ids as they were stored, with another time
        from integrations.adapters import gtm

        records = gtm.map_item(item, received_at=received_at)
        for record in records:
            record.external_id = item["event_id"]
        return records

    _result, inserted = batch_ingest(source=site, items=resend, mapper=mapper)
    assert inserted == 0 and Event.objects.count() == 80
    _result, inserted = batch_ingest(source=site, items=[{**resend[0], "event_id": "new"}], mapper=mapper)
    assert inserted == 1
    assert Event.objects.get(external_id="new").id == max(row[0] for row in unpartitioned_database) + 1


def test_converting_back_restores_the_single_table_with_its_unique_key(unpartitioned_database):
    from django.db import IntegrityError, transaction

    migrate(latest())
    apps = migrate(BEFORE_PARTITIONS)

    assert stored_events() == unpartitioned_database
    event_model = apps.get_model("integrations", "Event")
    duplicate = event_model.objects.get(external_id="e1")
    duplicate.id = None
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
