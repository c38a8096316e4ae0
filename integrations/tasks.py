"""Celery entry points: thin wrappers over `jobs` and `services` (late acks, idempotent work)."""

import json
import logging

from celery import shared_task
from django.utils import timezone

from marketing_ai.errors import ApplicationError, ProviderUnavailable

from .adapters import shopify
from .jobs import job_run
from .models import AudiencePush, DataSource, SyncJob
from .pipeline.runner import batch_ingest
from .services import ACTIVE_JOB_STATUSES, sync_job_start

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(ProviderUnavailable,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def job_run_task(self, job_id: int) -> None:
    """Run one ingestion job to completion from its checkpoint; safe to run twice."""
    job_run(job_id=job_id, final_attempt=self.request.retries >= self.max_retries)


@shared_task(acks_late=True, autoretry_for=(ProviderUnavailable,), retry_backoff=True, max_retries=5)
def shopify_webhook_process_task(source_id: int, topic: str, body: str) -> int:
    """Map and store one verified webhook body; re-delivery inserts nothing new."""
    source = DataSource.objects.filter(id=source_id).first()
    if source is None:
        return 0
    payload = json.loads(body)
    result, inserted = batch_ingest(source=source, items=[(topic, payload)], mapper=shopify.map_item)
    SyncJob.objects.create(
        workspace_id=source.workspace_id,
        source=source,
        kind=SyncJob.Kind.WEBHOOK,
        status=SyncJob.Status.SUCCEEDED if not result.rejected else SyncJob.Status.FAILED,
        progress=100,
        events_count=result.accepted,
        rejected_count=len(result.rejected),
        error="; ".join(r["reason"] for r in result.rejected)[:2000],
        params={"topic": topic},
        finished_at=timezone.now(),
    )
    return inserted


@shared_task
def sources_sync_due_task() -> int:
    """Beat: start a reconciliation sync for every active pull source without one in progress."""
    started = 0
    sources = DataSource.objects.filter(
        source_type=DataSource.SourceType.SHOPIFY, status=DataSource.Status.ACTIVE, is_dummy=False
    )
    for source in sources:
        if SyncJob.objects.filter(source=source, kind=SyncJob.Kind.SYNC, status__in=ACTIVE_JOB_STATUSES).exists():
            continue
        sync_job_start(source=source)
        started += 1
    return started


@shared_task(acks_late=True)
def audience_push_task(push_id: int) -> None:
    """Upload one queued audience push; a push already finished is left alone."""
    from .audiences_out import audience_push_run

    push = AudiencePush.objects.filter(id=push_id).select_related("connection", "workspace").first()
    if push is not None and push.status in (AudiencePush.Status.QUEUED, AudiencePush.Status.RUNNING):
        audience_push_run(push=push)


@shared_task(acks_late=True, autoretry_for=(ProviderUnavailable,), retry_backoff=5, max_retries=5)
def capi_relay_task(source_id: int, events: list, test_event_code: str = "") -> None:
    """Send Conversions-API events we accepted on to Meta with the source's own Meta token."""
    from .adapters.meta_pixel import conversions_relay

    source = DataSource.objects.filter(id=source_id).first()
    if source is None or not source.secrets.get("accessToken"):
        return
    try:
        conversions_relay(
            pixel_id=source.config["pixelId"],
            access_token=source.secrets["accessToken"],
            events=events,
            test_event_code=test_event_code,
        )
    except ProviderUnavailable:
        raise
    except ApplicationError as error:  # Meta refused them: retrying sends the same refusal again
        logger.warning("capi relay for source %s refused: %s", source_id, error.message)
