"""The analysis job and the signed links: expiry, tampering, a run that dies and is resumed, a run that lost its
file, a file that fails late, and the fence that keeps an old run from overwriting a newer one."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from ai.files.extraction import Extracted, Passage
from ai.files.models import FilePassage, FileUpload
from ai.files.runs import file_analyse, files_storage, run_claim
from ai.files.services import file_upload
from ai.files.signing import file_download_url
from ai.files.tasks import files_recover_task

from .files_helpers import Q3_PAGES, SALES_CSV, pdf_bytes, upload_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploaded(user, django_capture_on_commit_callbacks):
    def make(name="sales.csv", content=SALES_CSV, *, run=True) -> FileUpload:
        with django_capture_on_commit_callbacks(execute=run):
            upload = file_upload(user=user, uploaded=upload_of(name, content))
        upload.refresh_from_db()
        return upload

    return make


def test_a_signed_link_downloads_the_file_as_an_attachment(client, uploaded):
    upload = uploaded("Q3-report.pdf", pdf_bytes(Q3_PAGES))

    response = client.get(file_download_url(upload=upload))  # no session: the token is the permission

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf_bytes(Q3_PAGES)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Q3-report.pdf"'
    assert response["Cache-Control"] == "private, no-store"


def test_a_signed_link_expires_after_files_url_max_age(client, uploaded, settings, monkeypatch):
    settings.FILES_URL_MAX_AGE = 300
    upload = uploaded()
    url = file_download_url(upload=upload)
    signed_at = timezone.now().timestamp()

    monkeypatch.setattr("django.core.signing.time.time", lambda: signed_at + 299)
    assert client.get(url).status_code == 200
    monkeypatch.setattr("django.core.signing.time.time", lambda: signed_at + 301)
    expired = client.get(url)

    assert expired.status_code == 410
    assert b"This download link has expired" in expired.content


def test_an_altered_or_stale_link_is_404(client, uploaded, jwt_api_client):
    upload = uploaded()
    url = file_download_url(upload=upload)

    assert client.get(url[:-3] + "abc").status_code == 404
    jwt_api_client.delete(f"/api/files/{upload.id}")
    assert client.get(url).status_code == 404


def test_the_api_hands_out_a_link_that_works(jwt_api_client, client, uploaded, settings):
    upload = uploaded()

    link = jwt_api_client.get(f"/api/files/{upload.id}/link").json()

    assert link["expiresIn"] == settings.FILES_URL_MAX_AGE
    assert link["url"].startswith("http://testserver/files/download/")
    assert b"".join(client.get(link["url"]).streaming_content) == SALES_CSV.encode()


def test_a_redelivered_task_resumes_a_run_whose_worker_died(uploaded, settings, django_capture_on_commit_callbacks):
    upload = uploaded(run=False)
    run_claim(upload_id=upload.id)  # a worker took it, then died without a word
    FileUpload.objects.filter(id=upload.id).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    )
    assert file_analyse(upload_id=upload.id) is not None  # the broker redelivers the dead worker's task

    upload.refresh_from_db()
    assert upload.status == "succeeded" and upload.attempts == 2


def test_the_sweep_requeues_a_silent_run_and_gives_up_after_the_limit(
    uploaded, settings, django_capture_on_commit_callbacks
):
    settings.JOB_MAX_RECOVERIES = 1
    upload = uploaded(run=False)
    run_claim(upload_id=upload.id)
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    FileUpload.objects.filter(id=upload.id).update(heartbeat_at=stale)

    with django_capture_on_commit_callbacks(execute=True):
        assert files_recover_task() == 1
    upload.refresh_from_db()
    assert upload.status == "succeeded" and upload.attempts == 2 and upload.passages.exists()

    FileUpload.objects.filter(id=upload.id).update(status="running", heartbeat_at=stale)
    assert files_recover_task() == 0
    upload.refresh_from_db()
    assert upload.status == "failed" and "stopped repeatedly" in upload.error


def test_a_live_run_is_not_taken_over(uploaded):
    upload = uploaded(run=False)
    assert run_claim(upload_id=upload.id) is not None

    assert file_analyse(upload_id=upload.id) is None  # a second delivery while the first is alive
    upload.refresh_from_db()
    assert upload.status == "running" and upload.attempts == 1


def test_an_old_run_cannot_overwrite_a_newer_one(uploaded):
    upload = uploaded(run=False)
    old_run = run_claim(upload_id=upload.id)
    FileUpload.objects.filter(id=upload.id).update(attempts=5)  # a newer run took over meanwhile

    old_run.succeed(
        extracted=Extracted(profile={"stale": True}, passages=[Passage("x", "y")]), analysis={}, provider="x"
    )

    upload.refresh_from_db()
    assert upload.profile == {} and upload.status == "running" and not FilePassage.objects.exists()


def test_a_file_whose_stored_copy_vanished_fails_with_the_reason(uploaded):
    upload = uploaded(run=False)
    files_storage().delete(upload.storage_name)

    file_analyse(upload_id=upload.id)

    upload.refresh_from_db()
    assert upload.status == "failed" and "stored file is missing" in upload.error


def test_a_csv_that_breaks_past_the_upload_checks_fails_with_the_line(uploaded):
    content = "name,notes\nok,fine\n" + 'bad,"' + "x" * (1024 * 1024 + 10) + '"\n'

    upload = uploaded("notes.csv", content)

    assert upload.status == "failed" and "cannot be read past line" in upload.error
    assert upload.progress == 100 and not upload.passages.exists()


def test_progress_is_saved_while_a_large_file_is_read(uploaded, monkeypatch):
    monkeypatch.setattr("ai.files.runs.PROGRESS_EVERY_SECONDS", 0)
    monkeypatch.setattr("ai.files.extraction.PROGRESS_EVERY_ROWS", 100)
    rows = "\n".join(f"{i},{i % 7},region-{i % 3}" for i in range(2000))
    upload = uploaded(run=False, content="id,units,region\n" + rows + "\n")
    saved = []

    def progress_writes(execute, sql, params, many, context):
        if sql.startswith('UPDATE "ai_fileupload" SET "progress"'):
            saved.append(params[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(progress_writes):
        file_analyse(upload_id=upload.id)

    assert len(saved) >= 3 and saved == sorted(saved) and max(saved) <= 85
    assert FileUpload.objects.get(id=upload.id).progress == 100


def test_the_stored_file_is_what_was_uploaded(uploaded):
    upload = uploaded("Q3-report.pdf", pdf_bytes(Q3_PAGES))

    with files_storage().open(upload.storage_name, "rb") as stored:
        assert stored.read() == pdf_bytes(Q3_PAGES)
    assert upload.storage_name.startswith(f"workspaces/{upload.workspace_id}/")
    assert upload.sha256 == hashlib.sha256(pdf_bytes(Q3_PAGES)).hexdigest()
