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
