"""The files API: each supported type uploads and is analysed; each bad file is refused with a clear error and
leaves no row and no stored file; tenants never see each other's files; roles below editor only read."""

import pytest

from accounts.models import Membership
from accounts.services import user_register
from ai.files.models import FilePassage, FileUpload
from ai.models import ProviderCall
from tests.conftest import PASSWORD, api_client_for

from .files_helpers import Q3_PAGES, SALES_CSV, encrypted_pdf_bytes, pdf_bytes, upload_of, xlsx_bytes, zip_bytes

pytestmark = pytest.mark.django_db


def stored_files(location) -> list:
    return [path for path in location.rglob("*") if path.is_file()]


@pytest.fixture(autouse=True)
def _jobs_run_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    """Each request's after-commit work (the queued analysis) runs when the request ends, as in production."""

    def after_commit(method):
        def wrapped(*args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return method(*args, **kwargs)

        return wrapped

    from rest_framework.test import APIClient

    for name in ("post", "delete", "get"):
        monkeypatch.setattr(APIClient, name, after_commit(getattr(APIClient, name)))


def post_file(api, name, content):
    """Upload, then (the analysis having run after the upload committed) the file as GET shows it."""
    response = api.post("/api/files", {"file": upload_of(name, content)}, format="multipart")
    if response.status_code == 201:
        response.uploaded = response.json()
        detail = api.get(f"/api/files/{response.uploaded['file']['id']}")
        response.json = lambda: {"file": detail.json(), "job": response.uploaded["job"]}
    return response


def test_a_csv_is_stored_profiled_and_analysed(jwt_api_client, _files_in_a_temporary_folder):
    response = post_file(jwt_api_client, "sales.csv", SALES_CSV)

    assert response.status_code == 201, response.content
    body = response.json()
    file = body["file"]
    assert file["name"] == "sales.csv" and file["kind"] == "csv" and file["status"] == "succeeded"
    assert body["job"]["status"] == "queued" and body["job"]["statusUrl"].endswith(f"/api/files/{file['id']}")
    table = file["profile"]["tables"][0]
    assert table["rowCount"] == 5 and table["columnCount"] == 6
    columns = {column["name"]: column for column in table["columns"]}
    assert columns["revenue"]["type"] == "number" and columns["revenue"]["sum"] == pytest.approx(606.22)
    assert columns["units"]["type"] == "integer" and columns["units"]["sum"] == 9
    assert columns["date"]["type"] == "date" and columns["date"]["min"] == "2026-07-01"
    assert columns["region"]["topValues"][0] == {"value": "North", "count": 3}
    assert "5 rows and 6 columns" in file["analysis"]["summary"]
    assert any("revenue totals 606.22" in fact for fact in file["analysis"]["facts"])
    assert file["analysis"]["actions"]
    assert file["analysisProvider"] == "local"
    assert len(stored_files(_files_in_a_temporary_folder)) == 1
    assert FilePassage.objects.filter(upload_id=file["id"], label="column revenue").exists()
    assert ProviderCall.objects.filter(purpose="file_analysis", provider="local", status="ok").count() == 1


def test_an_xlsx_is_profiled_per_sheet(jwt_api_client):
    workbook = xlsx_bytes(
        {
            "Orders": [["channel", "spend", "clicks"], ["email", 100.5, 40], ["social", 250, 90], ["email", 49.5, 10]],
            "Empty": [],
        }
    )
    response = post_file(jwt_api_client, "budget.xlsx", workbook)

    assert response.status_code == 201, response.content
    file = response.json()["file"]
    assert file["kind"] == "xlsx" and file["status"] == "succeeded"
    [table] = file["profile"]["tables"]
    assert table["name"] == "Orders" and table["rowCount"] == 3
    spend = next(c for c in table["columns"] if c["name"] == "spend")
    assert spend["sum"] == 400 and spend["max"] == 250


def test_a_pdf_is_read_page_by_page(jwt_api_client):
    response = post_file(jwt_api_client, "Q3-report.pdf", pdf_bytes(Q3_PAGES))

    assert response.status_code == 201, response.content
    file = response.json()["file"]
    assert file["kind"] == "pdf" and file["status"] == "succeeded"
    assert file["profile"]["pageCount"] == 3 and file["profile"]["pagesWithText"] == 3
    passage = FilePassage.objects.get(upload_id=file["id"], page=2)
    assert passage.label == "page 2" and "Revenue grew 18%" in passage.text
    assert any(fact.startswith("Page 2: Revenue grew 18%") for fact in file["analysis"]["facts"])
    assert any("double the retargeting budget" in action for action in file["analysis"]["actions"])


def test_markdown_and_text_files_are_cut_into_labelled_passages(jwt_api_client):
    markdown = "# Launch plan\nWe launch in May.\n\n## Budget\nThe budget is $40,000 for paid social.\n"
    md = post_file(jwt_api_client, "plan.md", markdown).json()["file"]
    txt = post_file(jwt_api_client, "notes.txt", "First line of notes.\nSecond line, with 42 leads.\n").json()["file"]

    assert md["kind"] == "markdown" and md["profile"]["headings"] == ["Launch plan", "Budget"]
    assert list(FilePassage.objects.filter(upload_id=md["id"]).values_list("label", flat=True)) == [
        "section Launch plan",
        "section Budget",
    ]
    assert txt["kind"] == "text"
    assert FilePassage.objects.get(upload_id=txt["id"]).label == "line 1"


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage without xref", 400, "damaged"),
        ("locked.pdf", encrypted_pdf_bytes(Q3_PAGES), 400, "password-protected"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 415, "PNG image"),
        ("data.csv", "caf\xe9;prix\n".encode("latin-1") + b"x;1\n", 415, "not UTF-8"),
        ("empty.csv", b"", 400, "empty"),
        ("blank.txt", b"   \n\n  \n", 400, "no text"),
        ("fake.xlsx", b"PK\x03\x04" + b"not really a zip" * 10, 400, "damaged"),
        ("letter.docx", zip_bytes({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"}), 415, "Word"),
        ("archive.csv", zip_bytes({"a.txt": "hello"}), 415, "ZIP archive"),
    ],
)
def test_a_bad_file_is_refused_and_leaves_nothing_stored(
    jwt_api_client, _files_in_a_temporary_folder, name, content, status, message
):
    response = post_file(jwt_api_client, name, content)

    assert response.status_code == status, response.content
    body = response.json()
    assert body["statusCode"] == status and message in body["message"]
    assert FileUpload.objects.count() == 0 and FilePassage.objects.count() == 0
    assert stored_files(_files_in_a_temporary_folder) == []


def test_a_file_over_the_size_limit_is_413(jwt_api_client, settings, _files_in_a_temporary_folder):
    settings.FILES_MAX_BYTES = 100

    response = post_file(jwt_api_client, "big.csv", "a,b\n" + "1,2\n" * 50)

    assert response.status_code == 413
    assert "over the limit of" in response.json()["message"]
    assert FileUpload.objects.count() == 0 and stored_files(_files_in_a_temporary_folder) == []


def test_a_file_over_the_workspace_quota_is_refused(jwt_api_client, settings, _files_in_a_temporary_folder):
    settings.FILES_WORKSPACE_QUOTA_BYTES = len(SALES_CSV) + 10
    assert post_file(jwt_api_client, "sales.csv", SALES_CSV).status_code == 201

    response = post_file(jwt_api_client, "more.csv", SALES_CSV)

    assert response.status_code == 409
    assert "file storage is full" in response.json()["message"]
    assert FileUpload.objects.count() == 1 and len(stored_files(_files_in_a_temporary_folder)) == 1


@pytest.mark.parametrize("name", ["...", "../../etc/passwd.csv", "C:\\Users\\me\\q3 report (final).csv", "\u0000x.csv"])
def test_any_file_name_is_kept_for_display_and_never_used_as_a_path(jwt_api_client, _files_in_a_temporary_folder, name):
    response = post_file(jwt_api_client, name, SALES_CSV)

    assert response.status_code == 201, response.content
    [stored] = stored_files(_files_in_a_temporary_folder)
    assert stored.is_relative_to(_files_in_a_temporary_folder) and ".." not in stored.parts
    assert "/" not in response.json()["file"]["name"] and "\\" not in response.json()["file"]["name"]


def test_a_request_without_a_file_gets_the_field_error(jwt_api_client):
    response = jwt_api_client.post("/api/files", {}, format="multipart")

    assert response.status_code == 400
    assert response.json()["errors"] == {"file": ["No file was submitted."]}


def test_another_workspace_cannot_see_download_or_delete_a_file(jwt_api_client, other_jwt_api_client):
    file_id = post_file(jwt_api_client, "sales.csv", SALES_CSV).json()["file"]["id"]

    assert other_jwt_api_client.get(f"/api/files/{file_id}").status_code == 404
    assert other_jwt_api_client.get(f"/api/files/{file_id}/link").status_code == 404
    assert other_jwt_api_client.post(f"/api/files/{file_id}/reanalyse").status_code == 404
    assert other_jwt_api_client.delete(f"/api/files/{file_id}").status_code == 404
    assert other_jwt_api_client.get("/api/files").json()["count"] == 0
    assert FileUpload.objects.filter(id=file_id).exists()


def test_a_viewer_reads_files_but_cannot_upload_reanalyse_or_delete(jwt_api_client, workspace):
    file_id = post_file(jwt_api_client, "sales.csv", SALES_CSV).json()["file"]["id"]
    viewer = user_register(email="viewer@acme.test", password=PASSWORD, first_name="Vi", last_name="Ewer")
    Membership.objects.create(user=viewer, workspace=workspace, role=Membership.Role.VIEWER)
    viewer.current_workspace = workspace
    viewer.save(update_fields=["current_workspace"])
    api = api_client_for(viewer)

    assert api.get(f"/api/files/{file_id}").status_code == 200
    assert api.get("/api/files").json()["count"] == 1
    refused = post_file(api, "other.csv", SALES_CSV)
    assert refused.status_code == 403 and "cannot upload or analyse files" in refused.json()["message"]
    assert api.post(f"/api/files/{file_id}/reanalyse").status_code == 403
    assert api.delete(f"/api/files/{file_id}").status_code == 403
    assert FileUpload.objects.count() == 1


def test_the_list_is_paginated_newest_first(jwt_api_client, django_assert_max_num_queries):
    for index in range(3):
        post_file(jwt_api_client, f"file-{index}.csv", SALES_CSV)

    with django_assert_max_num_queries(8):
        page = jwt_api_client.get("/api/files?pageSize=2").json()

    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert [item["name"] for item in page["results"]] == ["file-2.csv", "file-1.csv"]
    assert "profile" not in page["results"][0] and page["results"][0]["analysis"]["summary"]


def test_delete_removes_the_row_its_passages_and_the_stored_file(jwt_api_client, _files_in_a_temporary_folder):
    file_id = post_file(jwt_api_client, "Q3-report.pdf", pdf_bytes(Q3_PAGES)).json()["file"]["id"]
    assert stored_files(_files_in_a_temporary_folder)

    response = jwt_api_client.delete(f"/api/files/{file_id}")

    assert response.status_code == 204
    assert not FileUpload.objects.exists() and not FilePassage.objects.exists()
    assert stored_files(_files_in_a_temporary_folder) == []


def test_reanalyse_runs_the_analysis_again(jwt_api_client):
    file_id = post_file(jwt_api_client, "sales.csv", SALES_CSV).json()["file"]["id"]

    response = jwt_api_client.post(f"/api/files/{file_id}/reanalyse")

    assert response.status_code == 202
    assert response.json()["job"]["status"] == "queued"
    assert jwt_api_client.get(f"/api/files/{file_id}").json()["status"] == "succeeded"
    assert FileUpload.objects.get(id=file_id).attempts == 2
    assert FilePassage.objects.filter(upload_id=file_id, label="column revenue").count() == 1
