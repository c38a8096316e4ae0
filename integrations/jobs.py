"""Running ingestion jobs (sync, dummy data, CSV import) to completion, resumably from `SyncJob.checkpoint`."""

import io
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from marketing_ai.errors import ApplicationError, ProviderUnavailable, ServiceUnavailable

from . import dummy
from .adapters import csv as csv_adapter
from .adapters import gtm, meta_pixel, shopify
from .adapters.shopify_api import ShopifyClient
from .daysets import daysets_build
from .models import DataSource, SyncJob, WebhookDelivery
from .pipeline.runner import (
    JobLost,
    MapResult,
    items_map,
    job_announce,
    job_batches_run,
    job_heartbeat,
    job_owned,
)
from .rollups import customer_days_vacuum
from .services import (
    ACTIVE_JOB_STATUSES,
    RUNNABLE_KINDS,
    dummy_source_get_or_create,
    job_publish,
    source_sync_recorded,
)
from .window import window_ensure

logger = logging.getLogger(__name__)
MAPPERS = {"gtm": gtm.map_item, "facebook_pixel": meta_pixel.map_item, "shopify": shopify.map_item}
PROGRESS_STEPS, PROGRESS_MIN_BATCH = 20, 250
ENDED_JOB_STATUSES = (SyncJob.Status.SUCCEEDED, SyncJob.Status.FAILED, SyncJob.Status.CANCELLED)
HISTORY_WARNING = (
    "Shopify only lets apps read the last 60 days of orders without the read_all_orders scope: "
    "older orders were not imported. Ask the store owner for that scope to import the full history."
)


def _chunks(iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _claim(job_id: int) -> SyncJob | None:
    """Start a run of the job, unless it ended or another live run owns it (then this delivery is a duplicate)."""
    with transaction.atomic():
        job = SyncJob.objects.select_for_update(of=("self",)).select_related("source").filter(id=job_id).first()
        if job is None or job.status not in ACTIVE_JOB_STATUSES:
            return None
        now = timezone.now()
        if job.status == SyncJob.Status.RUNNING:
            if job.heartbeat_at and job.heartbeat_at > now - timedelta(seconds=settings.JOB_STALE_SECONDS):
                return None
            # the broker redelivered the task of a run that died: the same rule as the recovery sweep
            if not _recovery_allowed(job, now=now):
                return None
        job.status, job.attempts, job.heartbeat_at = SyncJob.Status.RUNNING, job.attempts + 1, now
        job.started_at, job.phase = job.started_at or now, SyncJob.Phase.IMPORTING
        job.save(
            update_fields=["status", "attempts", "heartbeat_at", "recoveries", "started_at", "phase", "updated_at"]
        )
        return job


def _recovery_allowed(job: SyncJob, *, now) -> bool:
    """Count one more recovery of a job whose worker died, or fail it (saved) once it has had JOB_MAX_RECOVERIES."""
    if job.recoveries >= settings.JOB_MAX_RECOVERIES:
        job.status, job.finished_at = SyncJob.Status.FAILED, now
        job.error = (
            f"The worker running this job stopped {job.recoveries + 1} times (it may run out of memory or be "
            "restarted mid-job). Retry it to resume from where it stopped."
        )
        job.save(update_fields=["status", "finished_at", "error", "updated_at"])
        logger.error("Job %s failed: its worker died %s times.", job.id, job.recoveries + 1)
        return False
    job.recoveries += 1
    logger.warning(
        "Job %s: its worker stopped (last heartbeat %s); resuming from its checkpoint.", job.id, job.heartbeat_at
    )
    return True


def job_run(*, job_id: int, final_attempt: bool = True, sleep: Callable[[float], None] | None = None) -> SyncJob | None:
    """Run a job from its checkpoint to the end; transient provider errors re-raise for the task to retry.

    Safe to run twice at once and after a crash: one run owns the job at a time, and each batch commits with
    its checkpoint and counts, so a resumed job neither loses nor double-counts events.
    """
    job = _claim(job_id)
    if job is None:
        return None
    try:
        if job.kind == SyncJob.Kind.DUMMY_DATA:
            _run_dummy(job)
        elif job.kind == SyncJob.Kind.CSV_IMPORT:
            _run_csv(job)
        elif job.kind == SyncJob.Kind.SYNC:
            _run_shopify_sync(job, sleep=sleep)
        else:
            raise ApplicationError(f"Jobs of kind {job.kind} are not run by workers.")
        _dashboard_prepared(job)
    except JobLost:
        logger.info("Job %s: run %s stopped; the job was cancelled or resumed by another run.", job.id, job.attempts)
        return None
    except ProviderUnavailable as exc:
        _job_stopped(job, message=exc.message, failed=final_attempt)
        raise
    except ApplicationError as exc:
        _job_stopped(job, message=exc.message, failed=True)
        return job
    except Exception:
        logger.exception("Ingestion job %s crashed", job.id)
        _job_stopped(job, message="The job stopped on an unexpected error; retry it to resume.", failed=True)
        raise
    now = timezone.now()
    succeeded = {"status": SyncJob.Status.SUCCEEDED, "phase": SyncJob.Phase.IMPORTING, "progress": 100}
    if not job_owned(job).update(**succeeded, finished_at=now, updated_at=now):
        return None
    job.refresh_from_db()
    job_announce(job, status=job.status, progress=100, eventsCount=job.events_count, rejectedCount=job.rejected_count)
    if job.source_id:  # the sources page shows when data last arrived, whatever the job kind
        source_sync_recorded(source=job.source, status=job.status, message=job.warning)
    return job


def _dashboard_prepared(job: SyncJob) -> None:
    """The dashboard's upkeep after an import, before the job says it succeeded, so that a finished job's dashboard
    answers from its caches at once: the default range's window, and the day sets of custom ranges (15 s at 10M
    events, against up to 1.1 s per custom range without them). The events are in either way: should this fail,
    the job still succeeds and beat builds what is missing."""
    job_heartbeat(job, phase=SyncJob.Phase.DASHBOARD, progress=99)
    job_announce(job, status=SyncJob.Status.RUNNING, progress=99, phase=SyncJob.Phase.DASHBOARD)
    beat_at = time.monotonic()

    def heartbeat() -> None:  # the sweep must not re-queue a job whose upkeep runs long
        nonlocal beat_at
        if time.monotonic() - beat_at >= settings.JOB_HEARTBEAT_SECONDS:
            job_heartbeat(job)
            beat_at = time.monotonic()

    try:
        window_ensure(workspace_id=job.workspace_id)
        customer_days_vacuum()
        daysets_build(workspace_id=job.workspace_id, before_day=heartbeat)
    except JobLost:
        raise
    except Exception:
        logger.exception("Job %s: the dashboard's upkeep failed; beat builds what is missing", job.id)


def _job_stopped(job: SyncJob, *, message: str, failed: bool) -> None:
    status = SyncJob.Status.FAILED if failed else SyncJob.Status.QUEUED  # queued = a retry is coming
    stopped = job_owned(job).update(
        status=status, error=message[:2000], finished_at=timezone.now() if failed else None, updated_at=timezone.now()
    )
    if stopped:
        job_announce(job, status=status, progress=None, error=message[:200])
    if stopped and failed and job.source_id and job.kind == SyncJob.Kind.SYNC:
        source_sync_recorded(source=job.source, status=SyncJob.Status.FAILED, message=message)


def jobs_recover_stale(*, now: datetime | None = None) -> dict[str, int]:
    """Re-queue from its checkpoint every running job whose heartbeat stopped JOB_STALE_SECONDS ago (its worker
    died), or fail it with the reason once it was resumed JOB_MAX_RECOVERIES times; re-publish queued jobs whose
    task the broker lost (waiting 10 x JOB_STALE_SECONDS untouched). Returns how many of each."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    counts = {"requeued": 0, "failed": 0, "republished": 0}
    to_publish = []
    with transaction.atomic():
        stale = SyncJob.objects.select_for_update(skip_locked=True).filter(
            Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, updated_at__lt=stale_before),
            status=SyncJob.Status.RUNNING,
        )
        for job in stale:
            if _recovery_allowed(job, now=now):
                job.status = SyncJob.Status.QUEUED
                job.save(update_fields=["status", "recoveries", "updated_at"])
                to_publish.append(job)
                counts["requeued"] += 1
            else:
                counts["failed"] += 1
        lost = SyncJob.objects.select_for_update(skip_locked=True).filter(
            status=SyncJob.Status.QUEUED,
            kind__in=RUNNABLE_KINDS,
            updated_at__lt=now - timedelta(seconds=10 * settings.JOB_STALE_SECONDS),
        )
        for job in lost:
            job.save(update_fields=["updated_at"])
            to_publish.append(job)
            counts["republished"] += 1
    for job in to_publish:
        try:
            job_publish(job)
        except ServiceUnavailable:  # the job is failed with the reason; the others are still sent
            counts["failed"] += 1
    return counts


def _run_dummy(job: SyncJob) -> None:
    count, seed = int(job.params["count"]), job.params.get("seed")
    # About twenty committed steps for mid-size jobs, so progress moves as it really does (not 0 -> 100).
    batch_size = min(settings.INGEST_BATCH_SIZE, max(PROGRESS_MIN_BATCH, count // PROGRESS_STEPS))
    done = int(job.checkpoint.get("events", 0))
    mapper = MAPPERS[job.source.source_type]
    raw = dummy.raw_stream(source_type=job.source.source_type, count=count, seed=seed)
    raw = itertools.islice(raw, done, None)  # resume: the stream is deterministic, skip what is committed

    def batches():
        position = done
        for chunk in _chunks(raw, batch_size):
            result = items_map(items=chunk, mapper=mapper, received_at=timezone.now(), start_index=position)
            position += len(chunk)
            yield {"events": position}, result

    job_batches_run(job=job, batches=batches(), progress=lambda cp: int(100 * cp["events"] / max(count, 1)))


def _run_csv(job: SyncJob) -> None:
    done = int(job.checkpoint.get("rows", 0))
    mapper = csv_adapter.make_mapper(job.params.get("mapping") or {})
    with default_storage.open(job.params["path"], "rb") as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        _headers, rows = csv_adapter.rows_iter(text)
        rows = itertools.islice(rows, done, None)

        def batches():
            position = done
            for chunk in _chunks(rows, settings.INGEST_BATCH_SIZE):
                result = items_map(items=chunk, mapper=mapper, received_at=timezone.now(), start_index=position + 1)
                position += len(chunk)
                yield {"rows": position}, result

        job = job_batches_run(job=job, batches=batches())
    if job.rejected_count and not job.error:
        SyncJob.objects.filter(id=job.id).update(error=f"{job.rejected_count} row(s) could not be imported.")


def _run_shopify_sync(job: SyncJob, *, sleep=None) -> None:
    source: DataSource = job.source
    client = ShopifyClient(
        shop_domain=source.config.get("shopDomain", ""),
        access_token=source.secrets.get("accessToken", ""),
        api_version=source.config.get("apiVersion"),
        **({"sleep": sleep} if sleep else {}),
    )
    checkpoint = dict(job.checkpoint)
    cursor = dict(source.sync_cursor or {})
    if not cursor.get("orders") and not source.config.get("readAllOrders"):
        SyncJob.objects.filter(id=job.id).update(warning=HISTORY_WARNING)
        job.warning = HISTORY_WARNING
    stages = ["orders", "customers"]
    start = stages.index(checkpoint["resource"]) if checkpoint.get("resource") in stages else 0
    for stage_index, resource in enumerate(stages[start:], start=start):
        resuming = checkpoint.get("resource") == resource
        since = checkpoint.get("since") if resuming else cursor.get(resource)
        after = checkpoint.get("after") if resuming else None
        newest = checkpoint.get("newest") if resuming else None
        pages = client.pages(resource=resource, updated_since=since, after=after)

        def batches(pages=pages, resource=resource, since=since, newest=newest):
            for objects, end_cursor, page_newest in pages:
                newest = max(filter(None, [newest, page_newest]), default=None)
                result: MapResult = items_map(
                    items=[(("order" if resource == "orders" else "customer"), obj) for obj in objects],
                    mapper=shopify.map_item,
                    received_at=timezone.now(),
                )
                yield {"resource": resource, "since": since, "after": end_cursor, "newest": newest}, result

        job = job_batches_run(job=job, batches=batches(), progress=lambda cp, i=stage_index: 50 * i + 25)
        newest = job.checkpoint.get("newest") if job.checkpoint.get("resource") == resource else newest
        if newest:
            cursor[resource] = newest
        source.sync_cursor = cursor
        source.save(update_fields=["sync_cursor", "updated_at"])
        next_resource = stages[stage_index + 1] if stage_index + 1 < len(stages) else "done"
        if not job_owned(job).update(checkpoint={"resource": next_resource}):
            raise JobLost
        checkpoint = {"resource": next_resource}


def jobs_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete jobs that ended more than RETENTION_DAYS ago and webhook delivery records as old (Shopify retries a
    delivery for 48 hours, so replays are still recognised); returns how many rows of each went."""
    before = (now or timezone.now()) - timedelta(days=settings.RETENTION_DAYS)
    jobs, _ = SyncJob.objects.filter(status__in=ENDED_JOB_STATUSES, finished_at__lt=before).delete()
    deliveries, _ = WebhookDelivery.objects.filter(received_at__lt=before).delete()
    return {"jobs": jobs, "webhook_deliveries": deliveries}


def demo_data_ensure(*, workspace, count: int = 300) -> int:
    """Fill a workspace without events with dummy gtm, pixel and Shopify data and compute its product
    recommendations (run inline); returns events stored."""
    from .models import Event
    from .recommendations.services import recommendations_refresh

    if Event.objects.filter(workspace=workspace).exists():
        return 0
    seed = 1  # one seed for the three: the same shop seen by its store, its tag and its pixel (the same orders)
    for source_type in ("gtm", "facebook_pixel", "shopify"):
        with transaction.atomic():
            job = SyncJob.objects.create(
                workspace=workspace,
                source=dummy_source_get_or_create(workspace=workspace, source_type=source_type),
                kind=SyncJob.Kind.DUMMY_DATA,
                total=count,
                params={"count": count, "seed": seed},
            )
        job_run(job_id=job.id)
    recommendations_refresh(workspace_id=workspace.id)  # so the demo's customers and segments show some at once
    return Event.objects.filter(workspace=workspace).count()
