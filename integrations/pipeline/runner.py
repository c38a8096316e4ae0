"""validate -> transform -> map -> store -> customers -> job counts, in batches with a resumable checkpoint."""

import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import DataSource, SyncJob
from integrations.signals import events_stored
from marketing_ai.live import live_publish
from monitoring.metrics import events_ingested_record

from .schema import EVENT_TYPES, MAX_EXTERNAL_ID, EventRecord, Rejection, record_make_storable
from .store import events_store, stage_text

Mapper = Callable[..., list[EventRecord]]


@dataclass
class MapResult:
    records: list[EventRecord] = field(default_factory=list)
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)


def record_validate(record: EventRecord) -> None:
    """The common schema's own rules, whatever the adapter produced; text the database cannot hold is cleaned."""
    record_make_storable(record)
    if not record.external_id or len(record.external_id) > MAX_EXTERNAL_ID:
        raise Rejection("event id is missing or too long.")
    if record.event_type not in EVENT_TYPES:
        raise Rejection(f"unknown event type {record.event_type!r}.")
    if record.value is not None and record.value < 0 and record.event_type != "refund":
        raise Rejection("value cannot be negative.")


def items_map(*, items: Iterable, mapper: Mapper, received_at: datetime, start_index: int = 0, **kwargs) -> MapResult:
    """Map each raw item; a bad item is listed with its index and reason, the rest go on."""
    result = MapResult()
    for index, item in enumerate(items, start=start_index):
        try:
            records = mapper(item, received_at=received_at, **kwargs)
            for record in records:
                record_validate(record)
        except Rejection as exc:
            result.rejected.append({"index": index, "reason": exc.reason})
            continue
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
            result.rejected.append({"index": index, "reason": f"malformed event ({type(exc).__name__})."})
            continue
        if records:
            result.accepted += 1
            result.records.extend(records)
    return result


def batch_ingest(*, source: DataSource, items: Iterable, mapper: Mapper, **kwargs) -> tuple[MapResult, int]:
    """Map and store one batch (collect requests, webhooks); returns the map result and rows inserted."""
    received_at = timezone.now()
    result = items_map(items=items, mapper=mapper, received_at=received_at, **kwargs)
    inserted = events_store(source=source, records=result.records, received_at=received_at)
    batch_recorded(source=source, result=result, inserted=inserted)
    return result, inserted


def batch_recorded(*, source: DataSource, result: MapResult, inserted: int) -> None:
    """Every stored batch passes here: count what the coverage report shows (duplicates dropped, rejected events,
    when data last arrived) on the source, tell the workspace's open pages (after commit, coalesced), and send
    `events_stored` with the batch's customers (predictions rescore them)."""
    mapped, rejected = len(result.records), len(result.rejected)
    if not (mapped or rejected):
        return
    customer_keys = {record.customer_key for record in result.records} - {""} if inserted else set()
    if customer_keys:
        events_stored.send(sender=DataSource, workspace_id=source.workspace_id, customer_keys=customer_keys)
    DataSource.objects.filter(id=source.id).update(
        last_event_at=timezone.now(),
        duplicates_dropped=F("duplicates_dropped") + max(mapped - inserted, 0),
        events_rejected=F("events_rejected") + rejected,
    )
    data = {"count": inserted, "rejected": rejected, "sourceId": source.id}
    live_publish(kind="events.stored", workspace_id=source.workspace_id, data=data)
    transaction.on_commit(lambda: events_ingested_record(source_type=source.source_type, count=inserted))


def job_announce(job: SyncJob, **fields) -> None:
    """Tell the workspace's open pages where a job stands (after commit; the newest state wins)."""
    data = {"jobId": job.id, "sourceId": job.source_id, **fields}
    live_publish(kind="job.progress", workspace_id=job.workspace_id, key=str(job.id), data=data)


_DONE = object()


class JobLost(Exception):
    """This run no longer owns its job (cancelled, or resumed by another worker after its heartbeat stopped)."""


def prefetch(
    iterable: Iterable, *, depth: int = 2, on_idle: Callable[[], None] | None = None, idle_seconds: float = 10
) -> Iterator:
    """Produce the next items in a thread (fetch, generate, map) while the caller stores the current one.

    The producer never touches the database; psycopg releases the GIL while PostgreSQL works, so mapping
    the next batch overlaps the store of this one. At most `depth` batches wait in memory. While the caller
    waits for an item, `on_idle` runs in its thread every `idle_seconds` (the job's heartbeat).
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce():
        try:
            for item in iterable:
                while not stop.is_set():
                    try:
                        buffer.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it in its own thread
            buffer.put((_DONE, exc))

    thread = threading.Thread(target=produce, name="ingest-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item, error = buffer.get(timeout=idle_seconds if on_idle else None)
            except queue.Empty:
                on_idle()
                continue
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


@contextmanager
def _gil_handoffs_fast(interval: float = 0.0005):
    """While the prefetch thread is busy in Python, every database round trip of the storing thread ends by
    waiting for the GIL, for up to the switch interval (5 ms by default) each time. A shorter interval hands it
    back sooner (process-wide, so it is restored afterwards)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, interval))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def job_owned(job: SyncJob):
    """The job's row while this run still owns it: running, and not re-claimed since (`attempts` fences)."""
    return SyncJob.objects.filter(id=job.id, status=SyncJob.Status.RUNNING, attempts=job.attempts)


def job_heartbeat(job: SyncJob, **changes) -> None:
    """Tell the recovery sweep this run is alive (with `changes` to the job's row); JobLost when it no longer owns
    the job."""
    now = timezone.now()
    if not job_owned(job).update(heartbeat_at=now, updated_at=now, **changes):
        raise JobLost


def job_batches_run(
    *, job: SyncJob, batches: Iterator[tuple[dict, MapResult]], progress: Callable[[dict], int] | None = None
) -> SyncJob:
    """Store each batch and advance the job's checkpoint and counts in the same transaction (resume = no loss).

    Each batch commits only while this run owns the job, so a cancelled run, or one presumed dead and resumed
    elsewhere, stores nothing more and counts nothing twice (JobLost rolls its batch back).
    """
    source = job.source
    on_postgres = connection.vendor == "postgresql"

    def prepared():  # runs in the prefetch thread: the COPY text of the next batch is built there too
        for checkpoint, result in batches:
            yield checkpoint, result, stage_text(result.records) if on_postgres else None

    heartbeat_every = settings.JOB_HEARTBEAT_SECONDS
    with _gil_handoffs_fast():
        for checkpoint, result, staged in prefetch(
            prepared(), on_idle=lambda: job_heartbeat(job), idle_seconds=heartbeat_every
        ):
            with transaction.atomic():
                inserted = events_store(source=source, records=result.records, staged=staged)
                now = timezone.now()
                updates = {
                    "events_count": F("events_count") + result.accepted,
                    "rejected_count": F("rejected_count") + len(result.rejected),
                    "checkpoint": checkpoint,
                    "heartbeat_at": now,
                    "updated_at": now,
                }
                if progress is not None:
                    updates["progress"] = min(99, progress(checkpoint))
                if not job_owned(job).update(**updates):
                    raise JobLost
                batch_recorded(source=source, result=result, inserted=inserted)
                job_announce(job, status=SyncJob.Status.RUNNING, progress=updates.get("progress"))
    job.refresh_from_db()
    return job
