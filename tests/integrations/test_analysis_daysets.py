"""Custom ranges answered from the customer day sets (integrations/daysets.py) equal the raw-event overview and
the day rollups' grouping: with late and re-delivered events in several time zones, through stitching and its
undo, repairs, retention, a time zone change and a deleted source; a stored set is never stale, and days without
one are built in memory."""

import random
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.analysis.selectors import analysis_overview
from integrations.daysets import daysets_build, daysets_forget, daysets_missing
from integrations.identity import identity_merge_undo
from integrations.jobs import job_run, jobs_recover_stale
from integrations.models import CustomerDayRollup, CustomerDaySet, DataSource, Event, IdentityMerge, SyncJob
from integrations.pipeline.schema import EventRecord
from integrations.pipeline.store import events_store
from integrations.retention import event_retention_apply
from integrations.rollups import analysis_time_zone_set, rollups_recompute
from integrations.services import data_source_delete, dummy_data_start, job_cancel
from integrations.tasks import daysets_build_due_task
from tests.integrations.raw_overview import raw_overview
from tests.integrations.test_job_recovery import WorkerKilled, heartbeat_stops
from tests.integrations.test_rollups import FROM, TO, ZONES, ingest, shuffled_batches
from tests.integrations.test_rollups import records as mixed_records
from tests.integrations.threaded_store import store_from_threads

pytestmark = pytest.mark.django_db

RANGES = [
    {"date_from": FROM, "date_to": TO},  # a previous period with customers
    {"date_from": date(2026, 3, 24), "date_to": date(2026, 3, 30)},
    {"date_from": date(2026, 3, 8), "date_to": date(2026, 3, 8)},
    {"date_from": date(2025, 4, 1), "date_to": date(2026, 3, 31)},  # a year: no customers before the period
    {"date_from": date(2026, 2, 20), "date_to": date(2026, 3, 12)},
]


def records(rng: random.Random, count: int, *, start: int = 0) -> list:
    """test_rollups' random events in one currency (a tie between currencies is not what these tests are about)."""
    made = mixed_records(rng, count, start=start)
    for r in made:
        r.currency = "EUR" if r.value is not None else ""
    return made


def ranges_of(sources) -> list[dict]:
    return [*RANGES, *({**RANGES[0], "source_id": source.id} for source in sources)]


def answers(workspace, sources, *, from_sets: bool) -> None:
    """Every range's overview equals the raw-event one; `from_sets`: no customer-day row was read for it."""
    for filters in ranges_of(sources):
        with CaptureQueriesContext(connection) as captured:
            ours = analysis_overview(workspace=workspace, **filters)
        assert ours == raw_overview(workspace=workspace, **filters), filters
        if from_sets:
            table = CustomerDayRollup._meta.db_table
            assert not any(table in query["sql"] for query in captured.captured_queries), filters


def stored_sets(workspace) -> dict:
    return {
        (row.day, row.source_id): (bytes(row.type_sets), bytes(row.purchase_rows))
        for row in CustomerDaySet.objects.filter(workspace=workspace)
    }


def stored_sets_are_fresh(workspace) -> None:
    """Every stored set equals the one built now from the day rollups (none is stale)."""
    kept = stored_sets(workspace)
    daysets_forget(workspace_id=workspace.id)
    daysets_build(workspace_id=workspace.id)
    rebuilt = stored_sets(workspace)
    assert {pair: rebuilt.get(pair) for pair in kept} == kept


@pytest.mark.parametrize("zone", ZONES)
def test_custom_ranges_from_the_day_sets_answer_like_the_raw_events_and_the_rollups(workspace, sources, zone):
    rng = random.Random(zone)
    analysis_time_zone_set(workspace_id=workspace.id, time_zone=zone)
    ingest(sources, shuffled_batches(rng, records(rng, 600)))
    from_rollups = {str(f): analysis_overview(workspace=workspace, **f) for f in ranges_of(sources)}  # no sets yet

    assert daysets_build(workspace_id=workspace.id) > 0
    assert daysets_missing(workspace_id=workspace.id) == {}

    answers(workspace, sources, from_sets=True)
    assert {str(f): analysis_overview(workspace=workspace, **f) for f in ranges_of(sources)} == from_rollups


@pytest.mark.parametrize("threshold", ["0.00", "100.00", "150.00", "100000.00"])
def test_the_high_value_and_repeat_segments_from_the_sets_follow_the_threshold(workspace, sources, threshold):
    rng = random.Random(f"threshold {threshold}")
    workspace.high_value_threshold = Decimal(threshold)
    workspace.save(update_fields=["high_value_threshold"])
    ingest(sources, shuffled_batches(rng, records(rng, 500)))
    daysets_build(workspace_id=workspace.id)

    answers(workspace, sources, from_sets=True)


def test_a_store_deletes_the_sets_of_the_days_it_adds_to(workspace, sources):
    rng = random.Random(1)
    ingest(sources, shuffled_batches(rng, records(rng, 400)))
    daysets_build(workspace_id=workspace.id)
    before = stored_sets(workspace)

    late = records(rng, 120, start=5000)  # late events on days that have sets, some re-delivered
    ingest(sources, shuffled_batches(rng, late))

    touched = {pair for pair in before if pair not in stored_sets(workspace)}
    assert touched
    answers(workspace, sources, from_sets=False)
    stored_sets_are_fresh(workspace)
    answers(workspace, sources, from_sets=True)


def test_a_day_without_a_set_is_built_in_memory(workspace, sources):
    rng = random.Random(2)
    ingest(sources, shuffled_batches(rng, records(rng, 400)))
    daysets_build(workspace_id=workspace.id)
    daysets_forget(workspace_id=workspace.id, days=[date(2026, 3, 28)])
    daysets_forget(workspace_id=workspace.id, source_id=sources[0].id, days=[date(2026, 3, 8)])

    answers(workspace, sources, from_sets=False)
    table = CustomerDayRollup._meta.db_table
    for filters in ranges_of(sources):  # the two days' rows are read, not the range's grouped
        with CaptureQueriesContext(connection) as captured:
            analysis_overview(workspace=workspace, **filters)
        assert not any(table in q["sql"] and "GROUP BY" in q["sql"] for q in captured.captured_queries), filters
    assert daysets_missing(workspace_id=workspace.id)  # the overview only reads


def test_stitching_and_its_undo_keep_the_sets_fresh(workspace, sources):
    rng = random.Random(9)
    browsing = records(rng, 300)
    for n, r in enumerate(browsing[:200]):  # anonymous visitors on every day, beside known customers
        r.anonymous_id, r.customer_key = f"anon-{n % 10}", ""
    ingest(sources, [browsing])
    daysets_build(workspace_id=workspace.id)
    identifying = [  # one day's events identify each visitor: their history on other days moves to them
        EventRecord(
            external_id=f"ev-{9000 + n}",
            event_type="sign_up",
            occurred_at=datetime(2026, 3, 29, 12, tzinfo=UTC),
            customer_key=f"c{n}",
            anonymous_id=f"anon-{n}",
        )
        for n in range(10)
    ]
    ingest(sources, [identifying])
    assert IdentityMerge.objects.filter(workspace=workspace).exists()
    stored_sets_are_fresh(workspace)
    answers(workspace, sources, from_sets=True)

    for merge in IdentityMerge.objects.filter(workspace=workspace, undone_at=None)[:3]:
        identity_merge_undo(merge=merge, user=None)

    stored_sets_are_fresh(workspace)
    answers(workspace, sources, from_sets=True)


def test_a_recompute_after_deleting_events_keeps_the_sets_fresh(workspace, sources):
    rng = random.Random(11)
    ingest(sources, shuffled_batches(rng, records(rng, 400)))
    daysets_build(workspace_id=workspace.id)

    Event.objects.filter(workspace=workspace, customer_key__in=["c1", "c2"], event_type="purchase").delete()
    rollups_recompute(workspace_id=workspace.id, customer_keys=["c1", "c2"])  # their day rollups (not the totals)

    stored_sets_are_fresh(workspace)
    from_sets = [analysis_overview(workspace=workspace, **filters) for filters in ranges_of(sources)]
    daysets_forget(workspace_id=workspace.id)
    assert [analysis_overview(workspace=workspace, **filters) for filters in ranges_of(sources)] == from_sets


def test_repairs_a_deleted_source_and_a_time_zone_change_keep_the_sets_fresh(workspace, sources):
    rng = random.Random(13)
    ingest(sources, shuffled_batches(rng, records(rng, 400)))
    daysets_build(workspace_id=workspace.id)

    rollups_recompute(workspace_id=workspace.id, customer_keys=["c1", "c2", "c3"])
    stored_sets_are_fresh(workspace)
    deleted = sources[1].id
    data_source_delete(source=sources[1])
    assert not CustomerDaySet.objects.filter(source_id=deleted).exists()
    stored_sets_are_fresh(workspace)
    answers(workspace, sources[:1], from_sets=True)

    analysis_time_zone_set(workspace_id=workspace.id, time_zone="Asia/Kolkata")
    assert not CustomerDaySet.objects.filter(workspace=workspace).exists()
    answers(workspace, sources[:1], from_sets=False)
    assert daysets_build_due_task() > 0
    answers(workspace, sources[:1], from_sets=True)


def test_each_workspace_reads_its_own_sets(workspace, sources, other_workspace_user):
    other = other_workspace_user.current_workspace
    theirs = DataSource.objects.create(workspace=other, source_type="gtm", name="Theirs")
    rng = random.Random(17)
    ingest(sources, shuffled_batches(rng, records(rng, 300)))
    events_store(source=theirs, records=records(rng, 200, start=1000))
    assert daysets_build() > 0  # every workspace's (beat)

    answers(workspace, sources, from_sets=True)
    answers(other, [theirs], from_sets=True)
    assert analysis_overview(workspace=workspace, **RANGES[0]) != analysis_overview(workspace=other, **RANGES[0])


def test_retention_drops_the_sets_of_the_days_it_removes(workspace, sources):
    rng = random.Random(21)
    ingest(sources, shuffled_batches(rng, records(rng, 400)))
    daysets_build(workspace_id=workspace.id)

    event_retention_apply(workspace_id=workspace.id, months=1, now=datetime(2026, 3, 20, tzinfo=UTC))

    assert not CustomerDaySet.objects.filter(workspace=workspace, day__lt=date(2026, 2, 1)).exists()
    stored_sets_are_fresh(workspace)
    answers(workspace, sources, from_sets=True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_sets_built_while_stores_run_are_never_stale(workspace, sources):
    rng = random.Random(31)
    ingest(sources, shuffled_batches(rng, records(rng, 300)))
    later = shuffled_batches(rng, records(rng, 600, start=3000), size=15)
    stop, errors = threading.Event(), []

    def build():
        try:
            while not stop.is_set():
                daysets_build(workspace_id=workspace.id)
        except Exception as exc:  # returned to the test, which asserts there is none
            errors.append(exc)
        finally:
            connection.close()

    builder = threading.Thread(target=build)
    builder.start()
    errors.extend(store_from_threads(sources[0], later, threads=2))
    stop.set()
    builder.join()
    assert errors == []

    stored_sets_are_fresh(workspace)
    answers(workspace, sources, from_sets=False)


@pytest.fixture
def job_upkeep(monkeypatch):
    """Wraps the job's day-set build: `seen` holds the job's status, phase and progress when the build started;
    `each_day(job)` runs before each day's set (after the job's own heartbeat check); `fails` makes it raise."""
    import integrations.jobs as jobs

    spy = {"seen": [], "each_day": None, "fails": False}

    def build(*, workspace_id, before_day=None):
        job = SyncJob.objects.filter(workspace_id=workspace_id).latest("id")
        spy["seen"].append((job.status, job.phase, job.progress))
        if spy["fails"]:
            raise RuntimeError("the database went away")

        def day():
            before_day()
            if spy["each_day"] is not None:
                spy["each_day"](SyncJob.objects.get(id=job.id))

        return daysets_build(workspace_id=workspace_id, before_day=day)

    monkeypatch.setattr(jobs, "daysets_build", build)
    return spy


def test_a_job_builds_its_day_sets_before_it_says_it_succeeded(workspace, job_upkeep):
    job = dummy_data_start(workspace=workspace, source_type="gtm", count=300, seed=5)

    job_run(job_id=job.id)

    job.refresh_from_db()
    assert job_upkeep["seen"] == [("running", "dashboard", 99)]
    assert (job.status, job.phase, job.progress) == ("succeeded", "", 100)
    assert CustomerDaySet.objects.filter(workspace=workspace).count() > 1
    assert daysets_missing(workspace_id=workspace.id) == {}


def test_a_job_whose_upkeep_fails_still_succeeds_and_beat_builds_the_sets(workspace, job_upkeep):
    job_upkeep["fails"] = True
    job = dummy_data_start(workspace=workspace, source_type="gtm", count=300, seed=5)

    job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status == "succeeded" and job.events_count == Event.objects.filter(workspace=workspace).count() > 0
    assert daysets_missing(workspace_id=workspace.id) != {}
    assert daysets_build_due_task() > 0 and daysets_missing(workspace_id=workspace.id) == {}


def test_a_long_upkeep_keeps_the_jobs_heartbeat_and_stops_when_the_job_is_cancelled(workspace, settings, job_upkeep):
    settings.JOB_HEARTBEAT_SECONDS = 0  # a heartbeat before every day
    beats = []
    job_upkeep["each_day"] = lambda job: beats.append(job.heartbeat_at)
    job = dummy_data_start(workspace=workspace, source_type="gtm", count=300, seed=5)
    job_run(job_id=job.id)
    assert len(beats) > 1 and beats == sorted(beats) and beats[0] < beats[-1]

    def cancel_on_the_second_day(job):
        if len(beats) == 1:
            job_cancel(job=job)
        beats.append(job.heartbeat_at)

    beats.clear()
    job_upkeep["each_day"] = cancel_on_the_second_day
    daysets_forget(workspace_id=workspace.id)
    second = dummy_data_start(workspace=workspace, source_type="gtm", count=300, seed=6)

    assert job_run(job_id=second.id) is None
    second.refresh_from_db()
    assert second.status == "cancelled" and len(beats) == 2


def test_a_job_killed_during_its_upkeep_is_resumed_by_the_sweep_and_ends_with_every_set(
    workspace, job_upkeep, django_capture_on_commit_callbacks
):
    def killed(job):
        raise WorkerKilled

    job_upkeep["each_day"] = killed
    job = dummy_data_start(workspace=workspace, source_type="gtm", count=300, seed=5)
    with pytest.raises(WorkerKilled):
        job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.status == "running" and job.events_count == 300 and daysets_missing(workspace_id=workspace.id) != {}

    job_upkeep["each_day"] = None
    heartbeat_stops(job)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_recover_stale()["requeued"] == 1

    job.refresh_from_db()
    assert (job.status, job.events_count, job.attempts) == ("succeeded", 300, 2)
    assert Event.objects.filter(workspace=workspace).count() == 300
    assert daysets_missing(workspace_id=workspace.id) == {}
