"""Every write on uploaded files a person asks for: upload (validated, stored, queued), reanalyse, delete.

A rejected file leaves nothing behind: no row, no stored bytes (the stored copy is deleted when the row cannot
be written). The analysis itself runs as a job (`runs.py`, through `tasks.py`).
"""

import hashlib
import logging
import re
import unicodedata
import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.policy import policy_require
from accounts.selectors import workspace_current_for_user
from marketing_ai.celery import task_publish_on_commit
from marketing_ai.errors import Conflict
from marketing_ai.live import live_publish

from .detection import FileRejected, file_inspect
from .models import FileUpload
from .runs import file_announce, files_storage, run_is_stale
from .selectors import file_storage_used
from .tasks import file_analyse_task

logger = logging.getLogger(__name__)

READ_CHUNK = 1024 * 1024


def _clean_name(name: str) -> str:
    """The uploaded name without any path, control characters or excess length (shown, never used as a path)."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip()
    if len(base) > 200:
        stem, suffix = base.rsplit(".", 1) if "." in base[-12:] else (base, "")
        base = stem[: 200 - len(suffix) - 1] + ("." + suffix if suffix else "")
    return base or "upload"


def _storage_safe(name: str) -> str:
    """The name as a path segment: ASCII letters, digits, dot, dash and underscore only (never "." or "..")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:120] or "upload"


def _sha256(stream) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(READ_CHUNK):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def _quota_check(*, workspace: Workspace, size: int) -> None:
    used = file_storage_used(workspace=workspace)
    quota = settings.FILES_WORKSPACE_QUOTA_BYTES
    if used + size > quota:
        raise Conflict(
            f"This workspace's file storage is full: {_megabytes(used)} of {_megabytes(quota)} used, and this file "
            f"needs {_megabytes(size)}. Delete files you no longer need, then upload again."
        )


def _size_check(size: int) -> None:
    if size == 0:
        raise FileRejected("The file is empty.", status=400)
    if size > settings.FILES_MAX_BYTES:
        raise FileRejected(
            f"The file is {_megabytes(size)}, over the limit of {_megabytes(settings.FILES_MAX_BYTES)}.", status=413
        )


def file_upload(*, user: User, uploaded) -> FileUpload:
    """Validate (size, quota, type and readability by content), store and register a file, then queue its
    analysis after commit. FileRejected (400/413/415) or Conflict (409, quota) leave no row and no stored file."""
    workspace = workspace_current_for_user(user=user)
    policy_require(user=user, workspace=workspace, action="files.upload")
    name = _clean_name(uploaded.name)
    _size_check(uploaded.size)
    _quota_check(workspace=workspace, size=uploaded.size)
    inspected = file_inspect(stream=uploaded, name=name)
    digest = _sha256(uploaded)
    storage = files_storage()
    stored = storage.save(f"workspaces/{workspace.id}/{uuid.uuid4().hex}/{_storage_safe(name)}", uploaded)
    try:
        with transaction.atomic():
            Workspace.objects.select_for_update().filter(id=workspace.id).first()  # one quota decision at a time
            _quota_check(workspace=workspace, size=uploaded.size)
            upload = FileUpload(
                workspace=workspace,
                uploaded_by=user,
                name=name,
                kind=inspected.kind,
                content_type=inspected.content_type,
                size=uploaded.size,
                sha256=digest,
                storage_name=stored,
            )
            upload.full_clean()
            upload.save()
            _analysis_queue(upload)
    except BaseException:
        storage.delete(stored)
        raise
    return upload


def _analysis_queue(upload: FileUpload) -> None:
    file_announce(upload)

    def unavailable():
        FileUpload.objects.filter(id=upload.id, status=FileUpload.Status.QUEUED).update(
            status=FileUpload.Status.FAILED,
            error="The job queue was unavailable, so the analysis did not start. Try “Analyse again”.",
            finished_at=timezone.now(),
        )

    task_publish_on_commit(file_analyse_task, upload.id, on_unavailable=unavailable)


@transaction.atomic
def file_reanalyse(*, user: User | None, upload: FileUpload) -> FileUpload:
    """Queue a fresh analysis of a stored file (editors and above); Conflict while one is still running."""
    policy_require(user=user, workspace=upload.workspace_id, action="files.upload")
    upload = FileUpload.objects.select_for_update().get(id=upload.id)
    if upload.status == FileUpload.Status.QUEUED or (
        upload.status == FileUpload.Status.RUNNING and not run_is_stale(upload)
    ):
        raise Conflict("This file is being analysed right now; wait for the result.")
    upload.status, upload.progress, upload.error = FileUpload.Status.QUEUED, 0, ""
    upload.finished_at = None
    upload.save(update_fields=["status", "progress", "error", "finished_at", "updated_at"])
    _analysis_queue(upload)
    return upload


def file_delete(*, user: User | None, upload: FileUpload) -> None:
    """Delete the file's row, passages and (after commit) its stored bytes; editors and above."""
    policy_require(user=user, workspace=upload.workspace_id, action="files.upload")
    storage_name = upload.storage_name
    with transaction.atomic():
        upload.delete()
        transaction.on_commit(lambda: files_storage().delete(storage_name))
    live_publish(kind="file.progress", workspace_id=upload.workspace_id, key=str(upload.id), data={"deleted": True})
