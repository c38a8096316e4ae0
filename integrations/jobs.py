"""Running ingestion jobs (sync, dummy data, CSV import) to completion, resumably from `SyncJob.checkpoint`."""

import io
import itertools
import logging
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from marketing_ai.errors import ApplicationError, ProviderUnavailable

from . import dummy
from .adapters import csv as csv_adapter
from .adapters import gtm, meta_pixel, shopify
from .adapters.shopify_api import ShopifyClient
from .models import DataSource, SyncJob
from .pipeline.runner import MapResult, items_map, job_announce, job_batches_run
from .services import dummy_source_get_or_create, source_sync_recorded

logger = logging.getLogger(__name__)
MAPPERS = {"gtm": gtm.map_item, "facebook_pixel": meta_pixel.map_item, "shopify": shopify.map_item}
PROGRESS_STEPS, PROGRESS_MIN_BATCH = 20, 250
HISTORY_WARNING = (
    "Shopify only lets apps read the last 60 days of orders without the read_all_orders scope: "
    "older orders were not imported. Ask the store owner for that scope to import the full history."
)


def _chunks(iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _claim(job_id: int) -> SyncJob | None:
    with transaction.atomic():
        job = SyncJob.objects.select_for_update(of=("self",)).select_related("source").filter(id=job_id).first()
        if job is None or job.status == SyncJob.Status.SUCCEEDED:
            return None
        job.status = SyncJob.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at", "updated_at"])
        return job


def job_run(*, job_id: int, final_attempt: bool = True, sleep: Callable[[float], None] | None = None) -> SyncJob | None:
    """Run a job from its checkpoint to the end; transient provider errors re-raise for the task to retry."""
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
    job.refresh_from_db()
    job.status, job.progress, job.finished_at = SyncJob.Status.SUCCEEDED, 100, timezone.now()
    job.save(update_fields=["status", "progress", "finished_at", "updated_at"])
    job_announce(job, status=job.status, progress=100, eventsCount=job.events_count, rejectedCount=job.rejected_count)
    if job.source_id:  # the sources page shows when data last arrived, whatever the job kind
        source_sync_recorded(source=job.source, status=job.status, message=job.warning)
    return job


def _job_stopped(job: SyncJob, *, message: str, failed: bool) -> None:
    status = SyncJob.Status.FAILED if failed else SyncJob.Status.QUEUED  # queued = a retry is coming
    SyncJob.objects.filter(id=job.id).update(
        status=status, error=message[:2000], finished_at=timezone.now() if failed else None, updated_at=timezone.now()
    )
    job_announce(job, status=status, progress=None, error=message[:200])
    if failed and job.source_id and job.kind == SyncJob.Kind.SYNC:
        source_sync_recorded(source=job.source, status=SyncJob.Status.FAILED, message=message)


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
        SyncJob.objects.filter(id=job.id).update(checkpoint={"resource": next_resource})
        checkpoint = {"resource": next_resource}


def demo_data_ensure(*, workspace, count: int = 300) -> int:
    """Fill a workspace without events with dummy gtm, pixel and Shopify data (run inline); returns events stored."""
    from .models import Event

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
    return Event.objects.filter(workspace=workspace).count()
