"""HTML pages: sources list, add-source form with inline errors, job progress fragment, CSV preview, customers."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations.models import Customer, DataSource, Event, SyncJob
from integrations.services import data_source_delete

pytestmark = pytest.mark.django_db


def test_sources_page_lists_sources_with_counts_and_an_empty_state(logged_in_client, gtm_source):
    Event.objects.create(
        workspace=gtm_source.workspace,
        source=gtm_source,
        external_id="e1",
        event_type="page_view",
        occurred_at="2026-11-01T00:00:00Z",
        received_at="2026-11-01T00:00:00Z",
    )
    page = logged_in_client.get(reverse("integrations:source-list")).content.decode()
    assert "Site tag" in page and "Generate dummy data" in page
    data_source_delete(source=gtm_source)
    assert "No data sources yet" in logged_in_client.get(reverse("integrations:source-list")).content.decode()


def test_the_add_form_shows_inline_errors_with_422(logged_in_client):
    response = logged_in_client.post(
        reverse("integrations:source-create"), {"source_type": "gtm", "name": "Tag", "containerId": "bad"}
    )
    assert response.status_code == 422
    assert "GTM-ABC1234" in response.content.decode() and not DataSource.objects.exists()


def test_the_add_form_creates_a_source_and_redirects_to_it(logged_in_client):
    response = logged_in_client.post(
        reverse("integrations:source-create"), {"source_type": "gtm", "name": "Tag", "containerId": "GTM-ABC1234"}
    )
    source = DataSource.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "integrations:source-detail", args=[source.id]
    )
    page = logged_in_client.get(response["Location"]).content.decode()
    assert source.write_key in page and f"/api/collect/{source.write_key}" in page


def test_the_dummy_button_returns_a_job_card_that_live_messages_refresh_through_the_upkeep_until_done(
    logged_in_client, workspace
):
    response = logged_in_client.post(reverse("integrations:dummy-data", args=["gtm"]), HTTP_HX_REQUEST="true")
    job = SyncJob.objects.get()
    assert response.status_code == 200 and "toast" in response["HX-Trigger"]
    SyncJob.objects.filter(id=job.id).update(status="running", progress=40)
    fragment = logged_in_client.get(reverse("integrations:job-detail", args=[job.id])).content.decode()
    assert f'hx-trigger="live-job-changed-{job.id} from:body"' in fragment and "width: 40%" in fragment
    assert "Preparing your dashboard" not in fragment
    SyncJob.objects.filter(id=job.id).update(progress=99, phase="dashboard")  # the import is in: the upkeep runs
    upkeep = logged_in_client.get(reverse("integrations:job-detail", args=[job.id])).content.decode()
    assert "Preparing your dashboard" in upkeep and "width: 99%" in upkeep and "hx-trigger" in upkeep
    SyncJob.objects.filter(id=job.id).update(status="succeeded", progress=100)
    done = logged_in_client.get(reverse("integrations:job-detail", args=[job.id])).content.decode()
    assert "hx-trigger" not in done and "Done" in done


def test_csv_upload_previews_rows_with_errors_then_imports(
    logged_in_client, workspace, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    source = DataSource.objects.create(workspace=workspace, source_type="csv", name="Orders CSV")
    content = (
        b"Order ID,Email,Created At,Total,Currency\n"
        b"1001,ann@example.com,2026-10-01T10:00:00Z,25.50,EUR\n"
        b"1002,not-an-email,2026-10-02T10:00:00Z,10,EUR\n"
        b"1003,bob@example.com,,12,EUR\n"
    )
    upload = SimpleUploadedFile("orders.csv", content, content_type="text/csv")
    preview = logged_in_client.post(reverse("integrations:csv-upload", args=[source.id]), {"file": upload})
    html = preview.content.decode()
    assert preview.status_code == 200 and "not an e-mail" in html and "date/time cell is empty" in html
    path = preview.context["import_form"].initial["path"]
    with django_capture_on_commit_callbacks(execute=True):
        logged_in_client.post(
            reverse("integrations:csv-import", args=[source.id]),
            {
                "path": path,
                "action": "import",
                "map_external_id": "Order ID",
                "map_email": "Email",
                "map_occurred_at": "Created At",
                "map_value": "Total",
                "map_currency": "Currency",
            },
        )
    job = SyncJob.objects.get(kind="csv_import")
    assert (job.status, job.events_count, job.rejected_count) == ("succeeded", 1, 2)
    assert Customer.objects.get().email == "ann@example.com"


def test_customer_pages_and_isolation(logged_in_client, client, other_workspace_user, workspace):
    customer = Customer.objects.create(
        workspace=workspace,
        customer_key="cust-1",
        email="c@example.com",
        first_seen_at="2026-11-01T00:00:00Z",
        last_seen_at="2026-11-01T00:00:00Z",
    )
    assert "c@example.com" in logged_in_client.get(reverse("integrations:customer-list")).content.decode()
    detail = logged_in_client.get(reverse("integrations:customer-detail", args=[customer.id]))
    assert detail.status_code == 200 and "cust-1" in detail.content.decode()
    client.force_login(other_workspace_user)
    assert client.get(reverse("integrations:customer-detail", args=[customer.id])).status_code == 404


def test_another_workspace_source_page_is_404(client, other_workspace_user, gtm_source):
    client.force_login(other_workspace_user)
    assert client.get(reverse("integrations:source-detail", args=[gtm_source.id])).status_code == 404


def test_admin_hides_secrets_and_retries_failed_jobs(admin_client, gtm_source):
    gtm_source.secrets = {"accessToken": "super-secret-token-123"}
    gtm_source.save()
    page = admin_client.get(reverse("admin:integrations_datasource_change", args=[gtm_source.id])).content.decode()
    assert "super-secret-token-123" not in page
    job = SyncJob.objects.create(
        workspace=gtm_source.workspace,
        source=gtm_source,
        kind="dummy_data",
        status="failed",
        params={"count": 10, "seed": 1},
    )
    admin_client.post(
        reverse("admin:integrations_syncjob_changelist"), {"action": "retry_jobs", "_selected_action": [job.id]}
    )
    job.refresh_from_db()
    assert job.status != "failed"


def test_choosing_a_type_swaps_in_its_fields(logged_in_client):
    response = logged_in_client.get(reverse("integrations:source-create") + "?type=shopify", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="type-fields"' in html
    assert 'name="shopDomain"' in html and 'name="containerId"' not in html and "<html" not in html


def test_shopify_source_page_shows_its_webhook_address(logged_in_client, workspace):
    source = DataSource.objects.create(
        workspace=workspace, source_type="shopify", name="Store", config={"shopDomain": "demo.myshopify.com"}
    )
    html = logged_in_client.get(reverse("integrations:source-detail", args=[source.id])).content.decode()
    assert f"http://testserver/api/webhooks/shopify/{source.id}" in html and "Sync now" in html
