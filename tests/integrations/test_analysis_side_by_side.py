"""The overview outside a caller's transaction: on PostgreSQL its per-customer query runs on a second connection,
on the same snapshot as the totals; the answer is the same as inside a transaction (queries one after the other)."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from integrations.analysis.selectors import analysis_overview
from integrations.analysis.side_by_side import in_snapshot
from integrations.models import Event
from tests.integrations.analysis_data import FROM, TO, Events, source_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(workspace):
    events = Events(workspace, source_create(workspace))
    events.add("alice", "page_view").add("alice", "add_to_cart", "150").add("alice", "purchase", "150")
    events.add("bob", "page_view", times=3).add("carol", "add_to_cart", "30")
    events.add("", "page_view", times=2).add("", "purchase", "12")
    events.save()
    return workspace


def overview(workspace):
    return analysis_overview(workspace=workspace, date_from=FROM, date_to=TO)


def test_the_answer_is_the_same_side_by_side_and_one_after_the_other(shop):
    side_by_side = overview(shop)
    with transaction.atomic():
        one_after_the_other = overview(shop)

    assert side_by_side == one_after_the_other
    assert side_by_side["rowCounts"] == {"events": 10, "customers": 3}
    assert side_by_side["segments"]["cart_abandoners"]["count"] == 1


def test_the_side_connection_uses_the_callers_time_zone(shop):
    with timezone.override("Pacific/Kiritimati"):  # UTC+14: the events' 12:00 UTC is the next local day
        side_by_side = overview(shop)
        with transaction.atomic():
            one_after_the_other = overview(shop)

    assert side_by_side == one_after_the_other
    busy = [point for point in side_by_side["timeSeries"] if point["events"]]
    assert busy == [{"date": "2026-03-11", "events": 10, "purchases": 2, "revenue": "162.00"}]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="snapshots are shared on PostgreSQL only")
def test_the_side_query_sees_the_snapshot_not_later_writes(shop):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        _event_add_elsewhere(shop)  # committed after the snapshot was taken

        seen = in_snapshot(snapshot, lambda cursor: None, _event_count, workspace=shop).result()

    assert seen == 10
    assert _event_count(workspace=shop) == 11


def _event_add_elsewhere(workspace):
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "INSERT INTO integrations_event (workspace_id, source_id, external_id, event_type, raw_name, "
                "customer_key, anonymous_id, session_id, occurred_at, received_at, currency, properties) "
                "SELECT workspace_id, source_id, 'late', 'page_view', '', 'late', '', '', occurred_at, "
                "received_at, '', '{}' FROM integrations_event WHERE workspace_id = %s LIMIT 1",
                [workspace.id],
            )
    finally:
        other.close()


def _event_count(*, workspace):
    return Event.objects.filter(workspace=workspace).count()
