"""The analysis run of an uploaded file, on the upload row itself: status, progress and a heartbeat, fenced by
the run number (`attempts`) so that a run presumed dead, or replaced by a reanalysis, cannot overwrite a newer
one. A run whose heartbeat stopped is re-queued by beat (`files_stale_requeue`, then the task publishes)."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from marketing_ai.live import live_publish

from .analysis import file_analysis_generate
from .extraction import Extracted, ExtractionError, file_extract
from .models import FilePassage, FileUpload

logger = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0
UNEXPECTED_FAILURE = "The analysis failed unexpectedly. Try “Analyse again”; if it fails again, contact support."


def files_storage():
    """The storage uploads live in (STORAGES["files"]: a local folder by default, S3-compatible by setting)."""
    return storages["files"]


def file_announce(upload: FileUpload) -> None:
    """Tell the workspace's open pages where the file's analysis stands (after commit; the newest state wins)."""
    live_publish(
        kind="file.progress",
        workspace_id=upload.workspace_id,
        key=str(upload.id),
        data={"fileId": upload.id, "status": upload.status, "progress": upload.progress},
    )


def run_is_stale(upload: FileUpload) -> bool:
    beat = upload.heartbeat_at or upload.started_at
    return beat is None or beat < timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)


class _Run:
    """One analysis run of an upload: its number fences every write, progress is saved at most once a second."""

    def __init__(self, upload: FileUpload):
        self.upload = upload
        self.attempt = upload.attempts
        self.saved_at = 0.0

    def _rows(self):
        return FileUpload.objects.filter(id=self.upload.id, attempts=self.attempt, status=FileUpload.Status.RUNNING)

    def progress(self, percent: int) -> None:
        if time.monotonic() - self.saved_at < PROGRESS_EVERY_SECONDS or percent <= self.upload.progress:
            return
        self.saved_at = time.monotonic()
        self.upload.progress = percent
        self._rows().update(progress=percent, heartbeat_at=timezone.now())
        file_announce(self.upload)

    def fail(self, message: str) -> None:
        self.upload.status, self.upload.error, self.upload.progress = FileUpload.Status.FAILED, message, 100
        if self._rows().update(status=self.upload.status, error=message, progress=100, finished_at=timezone.now()):
            file_announce(self.upload)

    @transaction.atomic
    def succeed(self, *, extracted: Extracted, analysis: dict, provider: str) -> None:
        if self._rows().select_for_update().first() is None:
            return  # deleted, or a newer run owns the file now
        FilePassage.objects.filter(upload_id=self.upload.id).delete()
        FilePassage.objects.bulk_create(
            [
                FilePassage(
                    workspace_id=self.upload.workspace_id,
                    upload_id=self.upload.id,
                    position=position,
                    page=passage.page,
                    label=passage.label[:200],
                    text=passage.text,
                )
                for position, passage in enumerate(extracted.passages)
            ],
            batch_size=500,
        )
        self.upload.status, self.upload.progress = FileUpload.Status.SUCCEEDED, 100
        self._rows().update(
            status=self.upload.status,
            progress=100,
            error="",
            profile=extracted.profile,
            analysis=analysis,
            analysis_provider=provider[:32],
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        file_announce(self.upload)


@transaction.atomic
def run_claim(*, upload_id: int) -> _Run | None:
    """Start a run: a queued upload, or a running one whose worker went silent (redelivered task)."""
    upload = FileUpload.objects.select_for_update().filter(id=upload_id).first()
    if upload is None or upload.is_done:
        return None
    if upload.status == FileUpload.Status.RUNNING and not run_is_stale(upload):
        return None  # another worker is on it
    now = timezone.now()
    upload.status, upload.progress, upload.error = FileUpload.Status.RUNNING, 1, ""
    upload.attempts += 1
    upload.started_at = upload.heartbeat_at = now
    upload.save(update_fields=["status", "progress", "error", "attempts", "started_at", "heartbeat_at", "updated_at"])
    file_announce(upload)
    return _Run(upload)


def file_analyse(*, upload_id: int) -> FileUpload | None:
    """Run the analysis of a queued upload to its end: extract (profile or passages), ask the router, store the
    results. A file whose content cannot be read ends `failed` with the reason; safe to run twice."""
    run = run_claim(upload_id=upload_id)
    if run is None:
        return None
    upload = run.upload
    try:
        with files_storage().open(upload.storage_name, "rb") as stream:
            extracted = file_extract(
                stream=stream,
                kind=upload.kind,
                name=upload.name,
                size=upload.size,
                on_progress=lambda fraction: run.progress(5 + int(75 * fraction)),
            )
        run.progress(85)
        analysis, provider = file_analysis_generate(
            workspace=upload.workspace,
            name=upload.name,
            kind=upload.kind,
            profile=extracted.profile,
            passages=extracted.passages,
        )
    except ExtractionError as exc:
        run.fail(str(exc))
        return upload
    except FileNotFoundError:
        run.fail("The stored file is missing; upload it again.")
        return upload
    except Exception:
        logger.exception("Analysis of file %s failed", upload.id)
        run.fail(UNEXPECTED_FAILURE)
        return upload
    run.succeed(extracted=extracted, analysis=analysis, provider=provider)
    return upload


def files_stale_requeue() -> list[int]:
    """Put back in the queue the analyses whose worker went silent (heartbeat older than JOB_STALE_SECONDS), up
    to JOB_MAX_RECOVERIES times each; past that the file fails with the reason. Returns the ids to publish."""
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    requeued = []
    silent = FileUpload.objects.filter(status=FileUpload.Status.RUNNING, heartbeat_at__lt=cutoff)
    for upload_id in silent.values_list("id", flat=True):
        with transaction.atomic():
            upload = FileUpload.objects.select_for_update().filter(id=upload_id).first()
            if upload is None or upload.status != FileUpload.Status.RUNNING or not run_is_stale(upload):
                continue
            if upload.attempts > settings.JOB_MAX_RECOVERIES:
                upload.status, upload.error = FileUpload.Status.FAILED, "The analysis stopped repeatedly; try again."
                upload.finished_at = timezone.now()
                upload.save(update_fields=["status", "error", "finished_at", "updated_at"])
            else:
                upload.status = FileUpload.Status.QUEUED
                upload.save(update_fields=["status", "updated_at"])
                requeued.append(upload.id)
            file_announce(upload)
    return requeued
