"""Celery entry points: thin wrappers over `jobs` and `services` (late acks, idempotent work)."""

import logging

from celery import shared_task

from marketing_ai.errors import ApplicationError, ProviderUnavailable

from .jobs import job_run, jobs_purge, jobs_recover_stale
from .models import AudiencePush, DataSource, SyncJob
from .retention import event_store_maintain
from .services import ACTIVE_JOB_STATUSES, shopify_webhook_process, sync_job_start

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(ProviderUnavailable,),
    retry_backoff=5,
    retry_backoff_max=90,  # below the broker's visibility timeout (2 x JOB_STALE_SECONDS)
    retry_jitter=True,
    max_retries=5,
)
def job_run_task(self, job_id: int) -> None:
    """Run one ingestion job to completion from its checkpoint; safe to run twice."""
    job_run(job_id=job_id, final_attempt=self.request.retries >= self.max_retries)


@shared_task(acks_late=True, autoretry_for=(ProviderUnavailable,), retry_backoff=True, max_retries=5)
def shopify_webhook_process_task(source_id: int, topic: str, body: str) -> int:
    """Map and store one verified webhook body; re-delivery inserts nothing new."""
    return shopify_webhook_process(source_id=source_id, topic=topic, body=body)


@shared_task
def jobs_recover_task() -> dict:
    """Beat: re-queue jobs whose worker died (from their checkpoint), or fail them once out of recoveries."""
    return jobs_recover_stale()


@shared_task
def jobs_purge_task() -> dict:
    """Beat, daily: drop job rows and webhook delivery records past RETENTION_DAYS."""
    return jobs_purge()


@shared_task
def event_store_maintain_task() -> dict:
    """Keep the events table's month partitions ahead of time and drop the empty past ones (beat, daily)."""
    from django.utils import timezone

    return event_store_maintain(now=timezone.now())


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


@shared_task(acks_late=True)
def audience_refresh_task(audience_id: int) -> None:
    """Re-evaluate one saved audience's rules into its members and size history; safe to run twice."""
    from .audiences.services import audience_refresh

    audience_refresh(audience_id=audience_id)


@shared_task
def audiences_refresh_due_task() -> int:
    """Beat: queue a refresh of every saved audience not refreshed for AUDIENCE_REFRESH_MINUTES."""
    from .audiences.services import audiences_refresh_due

    return audiences_refresh_due()


@shared_task(acks_late=True)
def recommendations_refresh_task(workspace_id: int, full: bool = False) -> dict:
    """Refresh one workspace's product recommendations; safe to run twice (the second finds nothing new)."""
    from .recommendations.services import recommendation_summary, recommendations_refresh

    return recommendation_summary(recommendations_refresh(workspace_id=workspace_id, full=full))


@shared_task
def recommendations_refresh_due_task() -> int:
    """Beat: queue a refresh for every workspace that received events since its last one."""
    from .recommendations.refresh import workspaces_due

    due = workspaces_due()
    for workspace_id in due:
        recommendations_refresh_task.delay(workspace_id)
    return len(due)


@shared_task(acks_late=True)
def window_rebuild_task(workspace_id: int) -> None:
    """Rebuild one workspace's default-range window when it is stale (on demand, after a job); idempotent."""
    from .window import window_ensure

    window_ensure(workspace_id=workspace_id)


@shared_task
def windows_rebuild_due_task() -> int:
    """Beat: rebuild the stale default-range windows (a new day in a workspace's zone, a threshold change)."""
    from .window import windows_rebuild_due

    return windows_rebuild_due()


@shared_task
def daysets_build_due_task() -> int:
    """Beat: build the customer day sets missing since the last run (today's days, live stores, repairs)."""
    from .daysets import daysets_build

    return daysets_build()
