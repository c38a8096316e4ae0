"""The default range's window (integrations/window.py) answers exactly like the raw events: kept on ingest with
late, re-delivered and future events in several time zones, through identity stitching and its undo, repairs,
a new day and a threshold change; while it is stale the overview answers from the day rollups."""

import random
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations import window
from integrations.analysis.selectors import analysis_overview
from integrations.identity import identity_merge_undo
from integrations.models import CustomerDayRollup, CustomerWindow, DataSource, IdentityMerge, WindowSignature
from integrations.pipeline.schema import EventRecord
from integrations.pipeline.store import events_store
from integrations.rollups import analysis_time_zone_set, rollups_recompute
from integrations.services import data_source_delete
from tests.integrations.raw_overview import raw_overview
from tests.integrations.test_rollups import TYPES, ZONES, shuffled_batches
from tests.integrations.threaded_store import store_from_threads

pytestmark = pytest.mark.django_db


def records(rng: random.Random, count: int, *, start: int = 0, anonymous: bool = False) -> list[EventRecord]:
    """Random events of the last 70 days and tomorrow (beyond the window), many near midnight in some zone."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    made = []
    for n in range(start, start + count):
        event_type = rng.choice(TYPES)
        moment = now - timedelta(days=rng.randrange(-1, 70), minutes=rng.choice([0, 15, 30, 45, 59]))
        value = Decimal(rng.choice(["9.99", "20.00", "55.50", "100.00", "100.01", "250.00"]))
        value = value if rng.random() < 0.6 else None
        key = "" if rng.random() < 0.2 else f"c{rng.randrange(40)}"
        made.append(
            EventRecord(
                external_id=f"ev-{n}",
                event_type=event_type,
                occurred_at=moment,
                customer_key=key,
                anonymous_id=f"anon-{rng.randrange(10)}" if anonymous else "",
                value=value,
                currency="EUR" if value is not None else "",
            )
        )
    return made


def ingest(sources, batches) -> None:
    for batch in batches:
        for parity, source in enumerate(sources):
            events_store(source=source, records=[r for r in batch if int(r.external_id[3:]) % 2 == parity])


def window_rows(workspace) -> dict[str, set]:
    def rows(model, *fields):
        return set(
            model.objects.filter(
                workspace=workspace, **({"customer_count__gt": 0} if model is WindowSignature else {})
            ).values_list(*fields)
        )

    return {
        "windows": rows(CustomerWindow, "customer_id", "scope", "mask", "previous_mask", "purchases", "purchase_cents"),
        "signatures": rows(
            WindowSignature, "scope", "mask", "previous_mask", "purchases", "purchase_cents", "customer_count"
        ),
    }


def answers_like_the_raw_events(workspace, sources, *, from_window: bool) -> None:
    """The default range, all sources and each source, equals the raw-event answer; `from_window` says whether
    the window answered (no customer-day query) or the day rollups did."""
    for filters in [{}, *({"source_id": source.id} for source in sources)]:
        with CaptureQueriesContext(connection) as captured:
            ours = analysis_overview(workspace=workspace, **filters)
        assert ours == raw_overview(workspace=workspace, **filters), filters
        read_days = any(CustomerDayRollup._meta.db_table in query["sql"] for query in captured.captured_queries)
        assert read_days is not from_window, filters


def maintained_equals_rebuilt(workspace) -> None:
    maintained = window_rows(workspace)
    window.window_rebuild(workspace_id=workspace.id)
    assert window_rows(workspace) == maintained


@pytest.mark.parametrize("zone", ZONES)
def test_the_window_kept_on_ingest_answers_the_default_range_like_the_raw_events(workspace, sources, zone):
    rng = random.Random(zone)
    analysis_time_zone_set(workspace_id=workspace.id, time_zone=zone)
    window.window_rebuild(workspace_id=workspace.id)  # an empty workspace's window

    ingest(sources, shuffled_batches(rng, records(rng, 500)))

    answers_like_the_raw_events(workspace, sources, from_window=True)
    maintained_equals_rebuilt(workspace)


def test_a_range_other_than_the_default_reads_the_day_rollups(workspace, sources):
    rng = random.Random(3)
    window.window_rebuild(workspace_id=workspace.id)
    ingest(sources, shuffled_batches(rng, records(rng, 200)))
    today = analysis_overview(workspace=workspace)["range"]["to"]
    to = datetime.fromisoformat(today).date()

    for filters in [{"date_from": to - timedelta(days=6), "date_to": to}, {"date_to": to - timedelta(days=1)}]:
        with CaptureQueriesContext(connection) as captured:
            ours = analysis_overview(workspace=workspace, **filters)
        assert ours == raw_overview(workspace=workspace, **filters)
        assert any(CustomerDayRollup._meta.db_table in query["sql"] for query in captured.captured_queries)


def test_a_new_day_makes_the_window_stale_until_it_is_rebuilt(workspace, sources, monkeypatch):
    rng = random.Random(11)
    analysis_time_zone_set(workspace_id=workspace.id, time_zone="Asia/Kolkata")
    real_today = window._today
    monkeypatch.setattr(window, "_today", lambda zone: real_today(zone) - timedelta(days=1))
    window.window_rebuild(workspace_id=workspace.id)
    ingest(sources, shuffled_batches(rng, records(rng, 300)))  # kept up to date for yesterday's range

    monkeypatch.setattr(window, "_today", real_today)  # midnight passed
    assert window.window_stale(workspace_id=workspace.id)
    answers_like_the_raw_events(workspace, sources, from_window=False)
    ingest(sources, shuffled_batches(rng, records(rng, 100, start=300)))  # kept for yesterday meanwhile
    answers_like_the_raw_events(workspace, sources, from_window=False)

    assert window.windows_rebuild_due() == 1  # rolled forward a day: only the customers whose days shifted
    answers_like_the_raw_events(workspace, sources, from_window=True)
    assert window.windows_rebuild_due() == 0
    maintained_equals_rebuilt(workspace)


def test_a_window_days_behind_is_rebuilt_exactly(workspace, sources, monkeypatch):
    rng = random.Random(12)
    real_today = window._today
    monkeypatch.setattr(window, "_today", lambda zone: real_today(zone) - timedelta(days=4))
    window.window_rebuild(workspace_id=workspace.id)
    ingest(sources, shuffled_batches(rng, records(rng, 300)))
    monkeypatch.setattr(window, "_today", real_today)

    window.window_ensure(workspace_id=workspace.id)

    answers_like_the_raw_events(workspace, sources, from_window=True)
    maintained_equals_rebuilt(workspace)


def test_a_threshold_change_makes_the_window_stale_until_it_is_rebuilt(workspace, sources):
    rng = random.Random(5)
    window.window_rebuild(workspace_id=workspace.id)
    ingest(sources, shuffled_batches(rng, records(rng, 300)))

    workspace.high_value_threshold = Decimal("150.00")
    workspace.save(update_fields=["high_value_threshold"])

    answers_like_the_raw_events(workspace, sources, from_window=False)
    window.window_ensure(workspace_id=workspace.id)  # the signatures recounted under the new threshold
    answers_like_the_raw_events(workspace, sources, from_window=True)
    maintained_equals_rebuilt(workspace)


def test_stitching_and_its_undo_keep_the_window_exact(workspace, sources):
    rng = random.Random(9)
    window.window_rebuild(workspace_id=workspace.id)
    anonymous = records(rng, 300, anonymous=True)
    for r in anonymous[:150]:
        r.customer_key = ""  # browsing before identifying: these move to whoever identifies with the same id
    ingest(sources, [anonymous[:150], anonymous[150:]])
    assert IdentityMerge.objects.filter(workspace=workspace).exists()
    answers_like_the_raw_events(workspace, sources, from_window=True)

    for merge in IdentityMerge.objects.filter(workspace=workspace, undone_at=None)[:3]:
        identity_merge_undo(merge=merge, user=None)

    answers_like_the_raw_events(workspace, sources, from_window=True)
    maintained_equals_rebuilt(workspace)


def test_repairs_keep_the_window_exact_and_a_time_zone_change_rebuilds_it(workspace, sources):
    rng = random.Random(13)
    window.window_rebuild(workspace_id=workspace.id)
    ingest(sources, shuffled_batches(rng, records(rng, 300)))

    rollups_recompute(workspace_id=workspace.id, customer_keys=["c1", "c2", "c3"])
    answers_like_the_raw_events(workspace, sources, from_window=True)
    data_source_delete(source=sources[1])
    answers_like_the_raw_events(workspace, sources[:1], from_window=True)
    maintained_equals_rebuilt(workspace)

    analysis_time_zone_set(workspace_id=workspace.id, time_zone="America/New_York")
    answers_like_the_raw_events(workspace, sources[:1], from_window=False)
    window.window_ensure(workspace_id=workspace.id)
    answers_like_the_raw_events(workspace, sources[:1], from_window=True)


def test_each_workspace_reads_its_own_window(workspace, sources, other_workspace_user):
    other = other_workspace_user.current_workspace
    other_source = DataSource.objects.create(workspace=other, source_type="gtm", name="Theirs")
    rng = random.Random(17)
    for target in (workspace, other):
        window.window_rebuild(workspace_id=target.id)
    ingest(sources, shuffled_batches(rng, records(rng, 200)))
    events_store(source=other_source, records=records(rng, 150, start=1000))

    answers_like_the_raw_events(workspace, sources, from_window=True)
    answers_like_the_raw_events(other, [other_source], from_window=True)
    assert analysis_overview(workspace=workspace) != analysis_overview(workspace=other)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_concurrent_stores_of_the_same_customers_keep_the_window_exact(workspace, sources):
    rng = random.Random(19)
    window.window_rebuild(workspace_id=workspace.id)
    batches = shuffled_batches(rng, records(rng, 800), size=20)

    # Both sources at once: a customer's days of one source are rows the other source's stores never wait for.
    errors: list = []
    both = [
        threading.Thread(
            target=lambda parity=parity, source=source: errors.extend(
                store_from_threads(source, batches[parity::2], threads=2)
            )
        )
        for parity, source in enumerate(sources)
    ]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    assert errors == []

    answers_like_the_raw_events(workspace, sources, from_window=True)
    maintained_equals_rebuilt(workspace)


def test_a_workspace_without_a_window_gets_no_window_rows_on_ingest(workspace, sources):
    rng = random.Random(23)

    ingest(sources, shuffled_batches(rng, records(rng, 200)))

    assert window_rows(workspace) == {"windows": set(), "signatures": set()}
    answers_like_the_raw_events(workspace, sources, from_window=False)
