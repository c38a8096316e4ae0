"""CSV upload API: a plain multipart upload without a mapping, and files that are not UTF-8."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from integrations.models import DataSource, Event, SyncJob

pytestmark = pytest.mark.django_db

GOOD_CSV = (
    b"event,occurred_at,value,customer_id\n"
    b"purchase,2026-10-01T10:00:00Z,25.50,cust-1\n"
    b"purchase,2026-10-02T10:00:00Z,10,cust-2\n"
)


@pytest.fixture
def csv_source(workspace, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return DataSource.objects.create(workspace=workspace, source_type="csv", name="Orders CSV")


def _post(client, source, content: bytes):
    upload = SimpleUploadedFile("ok.csv", content, content_type="text/csv")
    return client.post(f"/api/data-sources/{source.id}/csv", {"file": upload}, format="multipart")


def test_csv_upload_without_mapping_guesses_it_and_stores_the_rows(
    jwt_api_client, csv_source, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(jwt_api_client, csv_source, GOOD_CSV)
    assert response.status_code == 202, response.content
    job = SyncJob.objects.get(id=response.json()["job"]["id"])
    assert job.params["mapping"]["occurred_at"] == "occurred_at"
    job.refresh_from_db()
    assert (job.status, job.events_count, job.rejected_count) == ("succeeded", 2, 0)
    assert Event.objects.filter(source=csv_source).count() == 2


@pytest.mark.parametrize(
    "content",
    [
        bytes(range(256)) * 100,
        GOOD_CSV + "purchase,2026-10-03T10:00:00Z,5,café-client\n".encode("latin-1"),
    ],
    ids=["binary", "latin-1-late-row"],
)
def test_csv_upload_of_a_file_that_is_not_utf8_is_a_400_and_stores_nothing(
    jwt_api_client, csv_source, tmp_path, content
):
    response = _post(jwt_api_client, csv_source, content)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["statusCode"] == 400 and "UTF-8" in body["message"] and "UTF-8" in body["errors"]["file"][0]
    assert not SyncJob.objects.exists() and not Event.objects.exists()
    assert not (tmp_path / "csv-imports").exists() or not any((tmp_path / "csv-imports").rglob("*.csv"))


def test_csv_upload_page_rejects_a_late_latin1_row_with_422(logged_in_client, csv_source):
    content = (
        GOOD_CSV
        + b"purchase,2026-10-02T10:00:00Z,10,cust-2\n" * 400
        + "purchase,2026-10-03T10:00:00Z,5,café-client\n".encode("latin-1")
    )
    upload = SimpleUploadedFile("ok.csv", content, content_type="text/csv")
    response = logged_in_client.post(f"/sources/{csv_source.id}/csv/", {"file": upload})
    assert response.status_code == 422 and "UTF-8" in response.content.decode()
    assert not SyncJob.objects.exists()
