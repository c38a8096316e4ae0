"""Every write of the integrations app: sources, jobs, webhooks. Ingestion itself lives in `pipeline/`."""

import codecs
import json
import uuid

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.policy import policy_require
from marketing_ai.celery import task_publish
from marketing_ai.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    ProviderUnavailable,
    ServiceUnavailable,
    Unauthorized,
)

from .adapters import shopify
from .adapters.csv import MAPPABLE_FIELDS
from .adapters.meta_pixel import meta_pixel_check
from .adapters.shopify import webhook_signature_valid
from .adapters.shopify_api import ShopifyClient
from .config import config_clean
from .models import DataSource, Event, EventKey, SyncJob, WebhookDelivery
from .pipeline.runner import batch_ingest
from .rollups import rollups_recompute

ACTIVE_JOB_STATUSES = (SyncJob.Status.QUEUED, SyncJob.Status.RUNNING)
RUNNABLE_KINDS = (SyncJob.Kind.SYNC, SyncJob.Kind.DUMMY_DATA, SyncJob.Kind.CSV_IMPORT)  # run by job_run_task
DUMMY_MAX_COUNT = 5_000_000
DUMMY_SOURCE_TYPES = (DataSource.SourceType.GTM, DataSource.SourceType.FACEBOOK_PIXEL, DataSource.SourceType.SHOPIFY)


def data_source_connection_test(*, source_type: str, config: dict, secrets: dict) -> None:
    """Call the provider with the given credentials; raises a 400 with the reason when it refuses."""
    try:
        if source_type == DataSource.SourceType.SHOPIFY:
            client = ShopifyClient(
                shop_domain=config["shopDomain"],
                access_token=secrets["accessToken"],
                api_version=config.get("apiVersion"),
            )
            client.shop()
        elif source_type == DataSource.SourceType.FACEBOOK_PIXEL and secrets.get("accessToken"):
            meta_pixel_check(pixel_id=config["pixelId"], access_token=secrets["accessToken"])
    except ProviderUnavailable as exc:
        raise ApplicationError(f"Connection test failed: {exc.message}") from exc
    except ApplicationError as exc:
        raise ApplicationError(f"Connection test failed: {exc.message}") from exc


def data_source_create(*, workspace: Workspace, user: User | None, source_type: str, name: str, config) -> DataSource:
    """Validate the config for its type, test the connection, and create the source (secrets encrypted); admins
    and owners only (DESIGN §3)."""
    policy_require(user=user, workspace=workspace, action="sources.manage")
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Some fields are invalid.", errors={"name": ["Give the source a name."]})
    plain, secrets = config_clean(source_type=source_type, config=config if config is not None else {})
    data_source_connection_test(source_type=source_type, config=plain, secrets=secrets)
    source = DataSource(
        workspace=workspace, source_type=source_type, name=name[:200], config=plain, secrets=secrets, created_by=user
    )
    source.full_clean()
    source.save()
    return source


def data_source_update(
    *,
    source: DataSource,
    user: User | None = None,
    name: str | None = None,
    config: dict | None = None,
    status: str | None = None,
) -> DataSource:
    """Rename, pause/resume, or change the config (re-validated and re-tested; unsent secrets are kept); admins
    and owners only."""
    policy_require(user=user, workspace=source.workspace_id, action="sources.manage")
    fields = ["updated_at"]
    if name is not None:
        if not name.strip():
            raise ApplicationError("Some fields are invalid.", errors={"name": ["Give the source a name."]})
        source.name, fields = name.strip()[:200], [*fields, "name"]
    if status is not None:
        if status not in (DataSource.Status.ACTIVE, DataSource.Status.PAUSED):
            raise ApplicationError("Some fields are invalid.", errors={"status": ["Choose active or paused."]})
        source.status, fields = status, [*fields, "status"]
    if config is not None:
        plain, secrets = config_clean(source_type=source.source_type, config=config, partial_of=source)
        data_source_connection_test(source_type=source.source_type, config=plain, secrets=secrets)
        source.config, source.secrets, fields = plain, secrets, [*fields, "config", "secrets"]
    source.save(update_fields=fields)
    return source


@transaction.atomic
def data_source_delete(*, source: DataSource, user: User | None = None) -> None:
    """Delete the source with its events and jobs, and recompute the totals and rollups of the customers its
    events touched (one left without events goes), in the same transaction; admins and owners only."""
    policy_require(user=user, workspace=source.workspace_id, action="sources.manage")
    events = Event.objects.filter(workspace_id=source.workspace_id, source=source)  # workspace first: its key range
    keys = list(events.exclude(customer_key="").values_list("customer_key", flat=True).distinct())
    EventKey.objects.filter(workspace_id=source.workspace_id, source=source).delete()
    events.delete()
    source.delete()
    rollups_recompute(workspace_id=source.workspace_id, customer_keys=keys)


def job_publish(job: SyncJob) -> None:
    """Send the job to a worker now. With the broker unreachable the job is failed (no row waits in `queued`
    forever; it can be retried) and ServiceUnavailable (503 + Retry-After) reaches the caller within seconds."""
    from .tasks import job_run_task

    try:
        task_publish(job_run_task, job.id)
    except ServiceUnavailable:
        SyncJob.objects.filter(id=job.id, status=SyncJob.Status.QUEUED).update(
            status=SyncJob.Status.FAILED,
            error="The job could not be queued (the job queue was unavailable); retry it.",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        job.status = SyncJob.Status.FAILED
        raise


def _job_enqueue(job: SyncJob) -> None:
    transaction.on_commit(lambda: job_publish(job))


@transaction.atomic
def sync_job_start(*, source: DataSource, user: User | None = None) -> tuple[SyncJob, bool]:
    """Queue a sync unless one is queued or running for the source (then that job is returned, created=False);
    editors and up."""
    policy_require(user=user, workspace=source.workspace_id, action="jobs.run")
    if source.source_type != DataSource.SourceType.SHOPIFY:
        raise ApplicationError(
            f"{source.get_source_type_display()} sources receive their events by push; there is nothing to pull."
        )
    DataSource.objects.select_for_update().filter(id=source.id).first()  # serialize concurrent starts per source
    running = SyncJob.objects.filter(source=source, kind=SyncJob.Kind.SYNC, status__in=ACTIVE_JOB_STATUSES).first()
    if running:
        return running, False
    job = SyncJob.objects.create(
        workspace_id=source.workspace_id, source=source, kind=SyncJob.Kind.SYNC, created_by=user
    )
    _job_enqueue(job)
    return job, True


def dummy_source_get_or_create(*, workspace: Workspace, source_type: str, user: User | None = None) -> DataSource:
    """The workspace's "Dummy {sourceType} Data" source (is_dummy), created on first use."""
    if source_type not in DUMMY_SOURCE_TYPES:
        raise ApplicationError(
            "Some fields are invalid.", errors={"sourceType": ["Dummy data exists for gtm, facebook_pixel, shopify."]}
        )
    name = f"Dummy {source_type} Data"
    configs = {
        "gtm": {"containerId": "GTM-DUMMY01"},
        "facebook_pixel": {"pixelId": "100000000000001"},
        "shopify": {"shopDomain": "dummy-store.myshopify.com"},
    }
    source, _ = DataSource.objects.get_or_create(
        workspace=workspace,
        name=name,
        is_dummy=True,
        defaults={"source_type": source_type, "config": configs[source_type], "created_by": user},
    )
    return source


@transaction.atomic
def dummy_data_start(
    *, workspace: Workspace, source_type: str, user: User | None = None, count: int | None = None, seed=None
) -> SyncJob:
    """Queue a dummy-data job (50-100 events by default, up to 5,000,000) for the dummy source of that type;
    editors and up."""
    policy_require(user=user, workspace=workspace, action="jobs.run")
    errors = {}
    if count is not None and (
        not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= DUMMY_MAX_COUNT
    ):
        errors["count"] = [f"Give a whole number from 1 to {DUMMY_MAX_COUNT:,}."]
    if seed is not None and not isinstance(seed, int | str):
        errors["seed"] = ["Give a number or a short text."]
    if errors:
        raise ApplicationError("Some fields are invalid.", errors=errors)
    source = dummy_source_get_or_create(workspace=workspace, source_type=source_type, user=user)
    if seed is None:
        seed = uuid.uuid4().int % 1_000_000
    if count is None:
        count = 50 + (hash(str(seed)) % 51 if isinstance(seed, str) else int(seed) % 51)
    job = SyncJob.objects.create(
        workspace=workspace,
        source=source,
        kind=SyncJob.Kind.DUMMY_DATA,
        total=count,
        params={"count": count, "seed": seed},
        created_by=user,
    )
    _job_enqueue(job)
    return job


DEMO_SOURCE_TYPES = ("shopify", "gtm", "facebook_pixel")


def demo_data_start(*, workspace: Workspace, user: User | None = None, count: int = 300) -> list[SyncJob]:
    """Queue demo events for a Shopify store, its GTM tag and its Meta Pixel (one dummy-data job each); editors
    and up."""
    policy_require(user=user, workspace=workspace, action="jobs.run")
    seed = uuid.uuid4().int % 1_000_000  # one seed: the three sources see the same shop, hence the same orders
    return [
        dummy_data_start(workspace=workspace, source_type=kind, user=user, count=count, seed=seed)
        for kind in DEMO_SOURCE_TYPES
    ]


def csv_source_get_or_create(*, workspace: Workspace, user: User | None = None) -> DataSource:
    source, _ = DataSource.objects.get_or_create(
        workspace=workspace,
        source_type=DataSource.SourceType.CSV,
        is_dummy=False,
        name="CSV uploads",
        defaults={"created_by": user},
    )
    return source


def csv_upload_check(*, upload) -> None:
    """Reject an uploaded file that is not UTF-8 text from start to end."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    upload.seek(0)
    try:
        for chunk in upload.chunks():
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        message = "The file is not a UTF-8 CSV file; save it as CSV UTF-8 and upload it again."
        raise ApplicationError(message, errors={"file": [message]}) from exc
    finally:
        upload.seek(0)


def csv_upload_store(*, source: DataSource, upload, user: User | None = None) -> str:
    """Keep an uploaded CSV file in the workspace's import folder (editors and up); returns its storage path."""
    policy_require(user=user, workspace=source.workspace_id, action="jobs.run")
    if source.source_type != DataSource.SourceType.CSV:
        raise ApplicationError("CSV files can only be imported into a CSV source.")
    csv_upload_check(upload=upload)
    return default_storage.save(f"csv-imports/{source.workspace_id}/{uuid.uuid4().hex}.csv", upload)


@transaction.atomic
def csv_import_start(*, source: DataSource, path: str, mapping: dict, user: User | None = None) -> SyncJob:
    """Queue the import of a stored CSV file of this workspace with the chosen column mapping (editors and up)."""
    policy_require(user=user, workspace=source.workspace_id, action="jobs.run")
    if source.source_type != DataSource.SourceType.CSV:
        raise ApplicationError("CSV files can only be imported into a CSV source.")
    if not path.startswith(f"csv-imports/{source.workspace_id}/") or ".." in path or not default_storage.exists(path):
        raise ApplicationError("The uploaded file is gone; upload it again.")
    unknown = sorted(set(mapping) - set(MAPPABLE_FIELDS))
    if unknown:
        raise ApplicationError(
            "Some fields are invalid.", errors={"mapping": [f"Unknown fields: {', '.join(unknown)}."]}
        )
    job = SyncJob.objects.create(
        workspace_id=source.workspace_id,
        source=source,
        kind=SyncJob.Kind.CSV_IMPORT,
        params={"path": path, "mapping": mapping},
        created_by=user,
    )
    _job_enqueue(job)
    return job


def _job_locked(job: SyncJob) -> SyncJob:
    return SyncJob.objects.select_for_update().get(id=job.id)


@transaction.atomic
def job_retry(*, job: SyncJob, user: User | None = None) -> SyncJob:
    """Re-queue a failed or cancelled job (editors and up); it resumes from its checkpoint. 409 from other states."""
    policy_require(user=user, workspace=job.workspace_id, action="jobs.run")
    job = _job_locked(job)
    if job.kind not in RUNNABLE_KINDS:
        raise Conflict(f"{job.get_kind_display()} jobs cannot be retried.")
    if job.status not in (SyncJob.Status.FAILED, SyncJob.Status.CANCELLED):
        raise Conflict(f"Only failed or cancelled jobs can be retried (this one is {job.status}).")
    job.status, job.error, job.finished_at, job.recoveries = SyncJob.Status.QUEUED, "", None, 0
    job.save(update_fields=["status", "error", "finished_at", "recoveries", "updated_at"])
    _job_enqueue(job)
    return job


@transaction.atomic
def job_cancel(*, job: SyncJob, user: User | None = None) -> SyncJob:
    """Stop a queued or running job (editors and up): a running one stops before its next batch, keeping what it
    stored; retrying it resumes from there. 409 when it already ended."""
    policy_require(user=user, workspace=job.workspace_id, action="jobs.run")
    job = _job_locked(job)
    if job.status not in ACTIVE_JOB_STATUSES:
        raise Conflict(f"Only queued or running jobs can be cancelled (this one is {job.status}).")
    who = user.email if user is not None else "an administrator"
    job.status, job.finished_at, job.error = SyncJob.Status.CANCELLED, timezone.now(), f"Cancelled by {who}."
    job.save(update_fields=["status", "finished_at", "error", "updated_at"])
    return job


def shopify_webhook_receive(*, source_id: int, raw_body: bytes, headers) -> bool:
    """Verify the HMAC on the raw body, drop replays, queue processing; returns False for a duplicate delivery."""
    source = DataSource.objects.filter(id=source_id, source_type=DataSource.SourceType.SHOPIFY).first()
    if source is None:
        raise NotFound()
    secret = source.secrets.get("webhookSecret", "")
    if not webhook_signature_valid(
        raw_body=raw_body, secret=secret, signature=headers.get("X-Shopify-Hmac-Sha256", "")
    ):
        DataSource.objects.filter(id=source.id).update(signature_failures=F("signature_failures") + 1)
        raise Unauthorized("The webhook signature is not valid.")
    topic = headers.get("X-Shopify-Topic", "")[:64] or "unknown"
    delivery = headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id")
    object_id = headers.get("X-Shopify-Order-Id")
    if not object_id:
        try:
            object_id = str(json.loads(raw_body).get("id", ""))
        except (ValueError, AttributeError):
            object_id = ""
    # One row per event id (else per object + topic): a replay or re-delivery is a no-op.
    key = f"event:{delivery}" if delivery else (f"{topic}:{object_id}" if object_id else "")
    if not key:
        raise ApplicationError("The webhook carries no event id and no object id.")
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(source=source, delivery_key=key[:255], topic=topic)
    except IntegrityError:
        DataSource.objects.filter(id=source.id).update(duplicates_dropped=F("duplicates_dropped") + 1)
        return False
    from .tasks import shopify_webhook_process_task

    body = raw_body.decode("utf-8", "replace")

    def publish():
        try:
            task_publish(shopify_webhook_process_task, source.id, topic, body)
        except ServiceUnavailable:  # no queue: store it now rather than lose it
            try:
                shopify_webhook_process(source_id=source.id, topic=topic, body=body)
            except Exception:
                WebhookDelivery.objects.filter(source=source, delivery_key=key[:255]).delete()  # Shopify resends
                raise

    transaction.on_commit(publish)
    return True


def shopify_webhook_process(*, source_id: int, topic: str, body: str) -> int:
    """Map and store one verified webhook body and record it as a webhook job; returns rows inserted (re-delivery
    inserts nothing new)."""
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


def source_sync_recorded(*, source: DataSource, status: str, message: str = "") -> None:
    source.last_sync_at = timezone.now()
    source.last_sync_status = status
    source.status_message = message[:500]
    if status == SyncJob.Status.FAILED:
        source.status = DataSource.Status.ERROR
    elif source.status == DataSource.Status.ERROR:
        source.status = DataSource.Status.ACTIVE
    source.save(update_fields=["last_sync_at", "last_sync_status", "status_message", "status", "updated_at"])
