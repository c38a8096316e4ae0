"""The Files pages: empty state, upload (and a refused upload's reason), the list, one file's results, reanalyse,
delete, what a viewer sees, and another workspace's file as 404."""

import pytest

from accounts.models import Membership
from accounts.services import user_register
from ai.files.models import FileUpload
from tests.conftest import PASSWORD

from .files_helpers import Q3_PAGES, SALES_CSV, pdf_bytes, upload_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload_page(logged_in_client, django_capture_on_commit_callbacks):
    def post(name, content, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return logged_in_client.post("/files/upload", {"file": upload_of(name, content)}, **headers)

    return post


def test_the_files_page_starts_empty_with_the_upload_form_and_is_in_the_navigation(logged_in_client):
    page = logged_in_client.get("/files/").content.decode()

    assert "No files yet" in page and "Upload and analyse" in page
    assert 'href="/files/"' in page and ">Files</a>" in page


def test_an_uploaded_file_is_listed_with_its_status_and_summary(logged_in_client, upload_page):
    response = upload_page("sales.csv", SALES_CSV)

    assert response.status_code == 302 and response["Location"] == "/files/"
    page = logged_in_client.get("/files/").content.decode()
    assert "sales.csv" in page and "Analysed" in page
    assert "sales.csv is a table of 5 rows and 6 columns" in page


def test_a_refused_upload_shows_the_reason_in_the_form(logged_in_client, upload_page):
    response = upload_page("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00", HTTP_HX_REQUEST="true")

    assert response.status_code == 422
    assert "This file is a PNG image, which cannot be analysed." in response.content.decode()
    assert not FileUpload.objects.exists()


def test_the_detail_page_shows_the_analysis_and_the_column_profile(logged_in_client, upload_page):
    upload_page("sales.csv", SALES_CSV)
    upload = FileUpload.objects.get()

    page = logged_in_client.get(f"/files/{upload.id}/").content.decode()

    assert "Key facts" in page and "revenue totals 606.22" in page
    assert "Suggested actions" in page
    assert "<strong>revenue</strong>" in page and "606.22" in page and "North <span" in page
    assert "/files/download/" in page


def test_the_detail_page_of_a_pdf_lists_its_passages_by_page(logged_in_client, upload_page):
    upload_page("Q3-report.pdf", pdf_bytes(Q3_PAGES))

    page = logged_in_client.get(f"/files/{FileUpload.objects.get().id}/").content.decode()

    assert "3 pages" in page and "page 2" in page and "Revenue grew 18%" in page


def test_another_workspaces_file_page_is_404(client, other_workspace_user, upload_page):
    upload_page("sales.csv", SALES_CSV)
    client.force_login(other_workspace_user)

    assert client.get(f"/files/{FileUpload.objects.get().id}/").status_code == 404
    assert client.post(f"/files/{FileUpload.objects.get().id}/delete").status_code == 404
    assert FileUpload.objects.exists()


def test_reanalyse_and_delete_from_the_page(logged_in_client, upload_page, django_capture_on_commit_callbacks):
    upload_page("sales.csv", SALES_CSV)
    upload = FileUpload.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        again = logged_in_client.post(f"/files/{upload.id}/reanalyse")
    assert again.status_code == 302 and FileUpload.objects.get().attempts == 2

    with django_capture_on_commit_callbacks(execute=True):
        gone = logged_in_client.post(f"/files/{upload.id}/delete", HTTP_HX_REQUEST="true")
    assert gone.status_code == 200 and gone["HX-Redirect"] == "/files/"
    assert not FileUpload.objects.exists()


def test_a_viewer_sees_files_without_the_upload_form_or_the_buttons(client, workspace, upload_page):
    upload_page("sales.csv", SALES_CSV)
    viewer = user_register(email="viewer@acme.test", password=PASSWORD, first_name="Vi", last_name="Ewer")
    Membership.objects.create(user=viewer, workspace=workspace, role=Membership.Role.VIEWER)
    viewer.current_workspace = workspace
    viewer.save(update_fields=["current_workspace"])
    client.force_login(viewer)
    upload = FileUpload.objects.get()

    listing = client.get("/files/").content.decode()
    detail = client.get(f"/files/{upload.id}/").content.decode()

    assert "sales.csv" in listing and "Upload and analyse" not in listing
    assert "Key facts" in detail and "Analyse again" not in detail and ">Delete<" not in detail
    refused = client.post("/files/upload", {"file": upload_of("x.csv", SALES_CSV)})
    assert refused.status_code == 403 and "You do not have access to this page" in refused.content.decode()


def test_the_admin_lists_files_shows_their_passages_and_deletes_the_stored_bytes(
    admin_client, upload_page, _files_in_a_temporary_folder, django_capture_on_commit_callbacks
):
    upload_page("Q3-report.pdf", pdf_bytes(Q3_PAGES))
    upload = FileUpload.objects.get()

    listing = admin_client.get("/admin/ai/fileupload/?status=succeeded")
    detail = admin_client.get(f"/admin/ai/fileupload/{upload.id}/change/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        again = admin_client.post(
            "/admin/ai/fileupload/", {"action": "reanalyse", "_selected_action": [upload.id]}, follow=True
        )
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/ai/fileupload/{upload.id}/delete/", {"post": "yes"})

    assert listing.status_code == 200 and "Q3-report.pdf" in listing.content.decode()
    assert "Revenue grew 18%" in detail and "page 2" in detail
    assert "1 file(s) queued for analysis." in again.content.decode()
    assert not FileUpload.objects.exists()
    assert not [path for path in _files_in_a_temporary_folder.rglob("*") if path.is_file()]
