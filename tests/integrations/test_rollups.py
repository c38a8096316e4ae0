"""Rollups kept on ingest answer exactly like the raw events: random batches with late and re-delivered events,
several analysis time zones, repairs (recompute, a re-keyed customer, a deleted source) and retried batches."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from integrations.analysis.audiences import segment_customer_list
from integrations.analysis.selectors import analysis_overview
from integrations.models import Customer, CustomerDayRollup, Event, EventRollup, PurchaseRollup
from integrations.pipeline.schema import EventRecord
from integrations.pipeline.store import events_store
from integrations.rollups import analysis_time_zone_set, customer_days_vacuum, customers_per_day, rollups_recompute
from integrations.services import data_source_delete
from tests.integrations.raw_overview import raw_overview
from tests.integrations.threaded_store import store_from_threads

pytestmark = pytest.mark.django_db

FROM, TO = date(2026, 3, 1), date(2026, 3, 30)  # New York's clocks go forward on March 8
TYPES = ["page_view"] * 6 + ["view_item"] * 3 + ["add_to_cart"] * 2 + ["begin_checkout", "purchase", "purchase"]
TYPES += ["search", "sign_up", "refund", "lead", "custom", "remove_from_cart", "add_payment_info"]
ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Pacific/Chatham"]  # +5:30; DST; +13:45 / +12:45


def records(rng: random.Random, count: int, *, start: int = 0) -> list[EventRecord]:
    """Random events from late January to the end of March, many of them near midnight in some zone."""
    base = datetime(2026, 1, 20, tzinfo=UTC)
    made = []
    for n in range(start, start + count):
        event_type = rng.choice(TYPES)
        moment = base + timedelta(
            days=rng.randrange(72), minutes=rng.choice([0, 15, 30, 45, 59]) + 60 * rng.randrange(24)
        )
        value = (
            Decimal(rng.choice(["9.99", "20.00", "55.50", "100.00", "100.01", "250.00"]))
            if rng.random() < 0.6
            else None
        )
        if event_type == "refund" and value is not None:
            value = -value
        made.append(
            EventRecord(
                external_id=f"ev-{n}",
                event_type=event_type,
                occurred_at=moment,
                customer_key="" if rng.random() < 0.2 else f"c{rng.randrange(40)}",
                value=value,
                currency=rng.choice(["EUR", "EUR", "USD"]) if value is not None else "",
            )
        )
    return made


def ingest(sources, batches: list[list[EventRecord]]) -> None:
    """Store each batch, every event with its own source (odd numbers come from the shop)."""
    for batch in batches:
        for parity, source in enumerate(sources):
            events_store(source=source, records=[r for r in batch if int(r.external_id[3:]) % 2 == parity])


def shuffled_batches(rng: random.Random, events: list[EventRecord], size: int = 40) -> list[list[EventRecord]]:
    """The events in random order (so later batches carry earlier events), a third of them delivered twice."""
    order = events + rng.sample(events, len(events) // 3)
    rng.shuffle(order)
    return [order[start : start + size] for start in range(0, len(order), size)]


def same_answers(workspace, sources, ranges: list[dict] | None = None) -> None:
    """The overview from the rollups equals the raw-event overview for each of `ranges` (filters; by default a few
    around the test data's days)."""
    if ranges is None:
        ranges = [
            {"date_from": FROM, "date_to": TO},
            {"date_from": date(2026, 3, 8), "date_to": date(2026, 3, 8)},
            {"date_from": date(2026, 2, 20), "date_to": date(2026, 3, 12)},
            {"date_from": FROM, "date_to": TO, "source_id": sources[-1].id},
            {},
        ]
    for filters in ranges:
        assert analysis_overview(workspace=workspace, **filters) == raw_overview(workspace=workspace, **filters), (
            filters
        )


def rollup_rows() -> dict[str, set]:
    def rows(model):
        fields = [f.attname for f in model._meta.concrete_fields if f.name != "id"]
        return set(model.objects.values_list(*fields))

    return {model.__name__: rows(model) for model in (EventRollup, CustomerDayRollup, PurchaseRollup, Customer)}


def totals_only(rows: dict[str, set]) -> dict[str, set]:
    """Customer rows without their identity and bookkeeping columns, which a recompute keeps or renews."""
    customer = Customer._meta
    keep = [i for i, f in enumerate(customer.concrete_fields[1:]) if f.name not in ("created_at", "updated_at")]
    return {**rows, "Customer": {tuple(row[i] for i in keep) for row in rows["Customer"]}}


@pytest.mark.parametrize("zone", ZONES)
def test_rollups_kept_on_ingest_answer_like_the_raw_events(workspace, sources, zone):
    rng = random.Random(zone)
    analysis_time_zone_set(workspace_id=workspace.id, time_zone=zone)

    ingest(sources, shuffled_batches(rng, records(rng, 500)))

    assert Event.objects.count() == 500
    same_answers(workspace, sources)


def test_random_custom_ranges_answer_like_the_raw_events(workspace, sources):
    rng = random.Random(13)
    ingest(sources, shuffled_batches(rng, records(rng, 600)))
    first, days = date(2026, 1, 10), 90  # from before the first event to after the last one

    ranges = []
    for _ in range(12):
        date_from = first + timedelta(days=rng.randrange(days))
        date_to = date_from + timedelta(days=rng.choice([0, 0, 1, 6, 20, 45, 89]))
        filters = {"date_from": date_from, "date_to": date_to}
        if rng.random() < 0.3:
            filters["source_id"] = rng.choice(sources).id
        ranges.append(filters)
    same_answers(workspace, sources, ranges)


def test_ranges_whose_previous_period_has_no_customers_answer_like_the_raw_events(workspace, sources):
    """Around the first identified events: the previous period without customers (anonymous events only, or
    another source's customers), or with them on its first or its last day only."""
    rng = random.Random(17)
    made = records(rng, 300)
    for n, record in enumerate(made):  # from March 10 on, like a workspace that started then
        record.occurred_at = datetime(2026, 3, 10, 12, tzinfo=UTC) + timedelta(hours=n % 480)
    anonymous = [
        EventRecord(
            external_id=f"ev-{900 + n}", event_type="page_view", occurred_at=datetime(2026, 3, 2 + n, 9, tzinfo=UTC)
        )
        for n in range(6)
    ]
    site_only = EventRecord(  # an even number: the site's
        external_id="ev-950",
        event_type="add_to_cart",
        occurred_at=datetime(2026, 3, 3, 9, tzinfo=UTC),
        customer_key="c1",
    )
    ingest(sources, shuffled_batches(rng, made + anonymous + [site_only]))
    site, shop = sources

    ranges = [
        {"date_from": date_from, "date_to": date_to, "source_id": source.id if source else None}
        for date_from, date_to, source in [
            (date(2026, 3, 10), date(2026, 3, 20), None),  # previous: Feb 28 - Mar 9, anonymous and one site customer
            (date(2026, 3, 10), date(2026, 3, 20), shop),  # the shop had no customer before March 10
            (date(2026, 3, 10), date(2026, 3, 20), site),
            (date(2026, 3, 4), date(2026, 3, 30), None),  # the site's customer on the previous period's last day
            (date(2026, 3, 3), date(2026, 3, 31), None),  # ... on the range's first day: the previous period is empty
            (date(2026, 2, 1), date(2026, 3, 2), None),  # anonymous events only
            (date(2026, 1, 1), date(2026, 12, 31), None),
            (date(2026, 1, 1), date(2026, 12, 31), site),
        ]
    ]
    same_answers(workspace, sources, ranges)


def test_a_recompute_rebuilds_exactly_what_ingest_maintained_and_twice_changes_nothing(workspace, sources):
    rng = random.Random(7)
    analysis_time_zone_set(workspace_id=workspace.id, time_zone="Asia/Kolkata")
    ingest(sources, shuffled_batches(rng, records(rng, 400)))
    maintained = totals_only(rollup_rows())

    rollups_recompute(workspace_id=workspace.id)
    once = totals_only(rollup_rows())
    rollups_recompute(workspace_id=workspace.id)

    assert once == maintained
    assert totals_only(rollup_rows()) == once


def test_changing_the_time_zone_moves_the_days_of_the_rollups(workspace, sources):
    rng = random.Random(11)
    ingest(sources, shuffled_batches(rng, records(rng, 300)))
    utc = analysis_overview(workspace=workspace, date_from=FROM, date_to=TO)

    analysis_time_zone_set(workspace_id=workspace.id, time_zone="Pacific/Chatham")

    chatham = analysis_overview(workspace=workspace, date_from=FROM, date_to=TO)
    assert chatham["range"]["timeZone"] == "Pacific/Chatham"
    assert chatham["timeSeries"] != utc["timeSeries"]
    same_answers(workspace, sources)


def test_an_invalid_time_zone_is_refused_and_changes_nothing(workspace, sources):
    from marketing_ai.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        analysis_time_zone_set(workspace_id=workspace.id, time_zone="Mars/Olympus_Mons")

    assert refused.value.errors == {"timeZone": ["Choose a time zone from the list."]}
    assert analysis_overview(workspace=workspace)["range"]["timeZone"] == "UTC"


def test_re_keyed_events_and_a_recompute_of_those_customers_merge_them(workspace, sources):
    rng = random.Random(3)
    ingest(sources, shuffled_batches(rng, records(rng, 300)))

    Event.objects.filter(workspace=workspace, customer_key="c2").update(customer_key="c1")  # merge c2 into c1
    rollups_recompute(workspace_id=workspace.id, customer_keys=["c1", "c2"])

    assert not Customer.objects.filter(workspace=workspace, customer_key="c2").exists()
    merged = Customer.objects.get(workspace=workspace, customer_key="c1")
    assert merged.event_count == Event.objects.filter(workspace=workspace, customer_key="c1").count()
    same_answers(workspace, sources)
    partial = totals_only(rollup_rows())
    rollups_recompute(workspace_id=workspace.id)
    assert totals_only(rollup_rows()) == partial


def test_a_deleted_source_and_a_recompute_leave_the_other_sources_answers(workspace, sources):
    rng = random.Random(5)
    ingest(sources, shuffled_batches(rng, records(rng, 300)))

    data_source_delete(source=sources[0])
    rollups_recompute(workspace_id=workspace.id)

    assert not EventRollup.objects.filter(source_id=sources[0].id).exists()
    assert Customer.objects.filter(workspace=workspace).count() == len(
        set(Event.objects.filter(workspace=workspace).exclude(customer_key="").values_list("customer_key", flat=True))
    )
    same_answers(workspace, sources[1:])


def test_a_failed_batch_adds_nothing_and_its_retry_adds_it_once(workspace, sources):
    rng = random.Random(9)
    batch = records(rng, 60)

    with pytest.raises(RuntimeError), transaction.atomic():
        events_store(source=sources[0], records=batch)
        raise RuntimeError("the job's transaction fails after the store")
    assert rollup_rows() == {
        "EventRollup": set(),
        "CustomerDayRollup": set(),
        "PurchaseRollup": set(),
        "Customer": set(),
    }

    events_store(source=sources[0], records=batch)
    events_store(source=sources[0], records=batch)  # re-delivered

    assert sum(EventRollup.objects.values_list("events", flat=True)) == 60
    same_answers(workspace, sources)


def test_segment_audiences_list_the_same_customers_as_the_segment_counts(workspace, sources):
    rng = random.Random(13)
    analysis_time_zone_set(workspace_id=workspace.id, time_zone="America/New_York")
    ingest(sources, shuffled_batches(rng, records(rng, 400)))

    overview = analysis_overview(workspace=workspace, date_from=FROM, date_to=TO)
    for name, segment in overview["segments"].items():
        members = segment_customer_list(workspace=workspace, name=name, date_from=FROM, date_to=TO)
        assert members.count() == segment["count"], name


def test_distinct_customers_per_day_source_and_type_count_each_customer_once(workspace, sources):
    when = datetime(2026, 3, 3, 10, tzinfo=UTC)
    same_day = [
        EventRecord(external_id=f"a{n}", event_type="page_view", occurred_at=when, customer_key="ann") for n in range(3)
    ]
    events_store(source=sources[0], records=same_day)
    events_store(
        source=sources[0],
        records=[EventRecord(external_id="b", event_type="page_view", occurred_at=when, customer_key="bob")],
    )
    events_store(
        source=sources[1],
        records=[EventRecord(external_id="c", event_type="page_view", occurred_at=when, customer_key="ann")],
    )

    counts = customers_per_day(workspace_id=workspace.id, date_from=FROM, date_to=TO)

    assert counts == {
        (date(2026, 3, 3), sources[0].id, "page_view"): 2,
        (date(2026, 3, 3), sources[1].id, "page_view"): 1,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_concurrent_stores_of_overlapping_batches_count_each_event_once(workspace, sources):
    rng = random.Random(17)
    events = records(rng, 400)
    batches = shuffled_batches(rng, events, size=25)

    errors = store_from_threads(sources[0], batches)

    assert errors == []
    assert sum(EventRollup.objects.values_list("events", flat=True)) == 400
    same_answers(workspace, sources)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the visibility map is PostgreSQL's")
def test_the_vacuum_after_an_import_marks_every_customer_day_page_all_visible(workspace, sources):
    rng = random.Random(19)
    ingest(sources, shuffled_batches(rng, records(rng, 3000), size=500))

    assert customer_days_vacuum() is True

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass",
            [CustomerDayRollup._meta.db_table],
        )
        pages, all_visible = cursor.fetchone()
    assert pages > 0
    assert all_visible == pages
