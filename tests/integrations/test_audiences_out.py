"""Audiences out: a segment pushed to a local fake of Meta Custom Audiences through the official SDK, and the
contact files Klaviyo and Mailchimp import."""

import hashlib
import json

import pytest

from accounts.models import Membership
from integrations.models import AudiencePush, DataSource
from tests.conftest import api_client_for
from tests.integrations.analysis_data import FROM, TO, Events, customer_create, source_create

pytestmark = pytest.mark.django_db
RANGE = {"dateFrom": FROM.isoformat(), "dateTo": TO.isoformat()}
TOKEN = "EAAB-meta-system-user-token-1234"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def meta_source(workspace):
    return DataSource.objects.create(
        workspace=workspace,
        source_type="facebook_pixel",
        name="Meta",
        config={"pixelId": "123456789012345", "adAccountId": "1234567890"},
        secrets={"accessToken": TOKEN},
    )


@pytest.fixture
def abandoners(workspace):
    events = Events(workspace, source_create(workspace))
    for number in range(5):
        events.add(f"c{number}", "add_to_cart", "30")
    events.add("nomail", "add_to_cart", "10").add("buyer", "add_to_cart").add("buyer", "purchase", "90")
    events.save()
    customer_create(workspace, "c0", email="  Ada.Lovelace@Example.COM ", first_name="Ada", last_name="Love-lace")
    customer_create(workspace, "c1", email="bo@example.com", first_name="Bö", last_name="")
    customer_create(workspace, "c2", email_sha256=sha("hashed@example.com").upper())
    customer_create(workspace, "c3", email="cy@example.com")
    customer_create(workspace, "c4", email="cy@example.com")  # the same person twice: sent once
    customer_create(workspace, "buyer", email="buyer@example.com")


@pytest.fixture
def push(django_capture_on_commit_callbacks):
    """POST a push; its job runs as it would after commit (the Celery task, eagerly)."""

    def post(client, **body):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/api/audience-pushes", {"segment": "cart_abandoners", **RANGE, **body}, format="json"
            )
        if response.status_code == 202:  # the job's result, as a client polling it would see it
            detail = client.get(f"/api/audience-pushes/{response.json()['id']}")
            detail.posted_status = response.status_code
            return detail
        return response

    return post


def test_a_segment_reaches_meta_hashed_per_metas_rules_in_one_session(
    push, jwt_api_client, graph, meta_source, abandoners, settings
):
    settings.META_AUDIENCE_BATCH_SIZE = 2

    response = push(jwt_api_client, audienceId="555")

    assert response.posted_status == 202
    body = response.json()
    assert (body["status"], body["sent"], body["received"], body["batches"]) == ("succeeded", 4, 4, 2)
    assert body["skipped"] == 1  # "nomail" has no e-mail at all
    uploads = graph.of("/555/users")
    assert len(uploads) == 2
    rows, sessions = [], []
    for upload in uploads:
        assert upload["params"]["access_token"] == TOKEN
        payload = json.loads(upload["params"]["payload"])
        assert payload["schema"] == ["EMAIL", "FN", "LN"]
        rows.extend(payload["data"])
        sessions.append(json.loads(upload["params"]["session"]))
    assert [s["batch_seq"] for s in sessions] == [1, 2]
    assert [s["last_batch_flag"] for s in sessions] == [False, True]
    assert len({s["session_id"] for s in sessions}) == 1
    assert sorted(rows) == sorted(
        [
            [sha("ada.lovelace@example.com"), sha("ada"), sha("lovelace")],
            [sha("bo@example.com"), sha("bö"), ""],
            [sha("hashed@example.com"), "", ""],
            [sha("cy@example.com"), "", ""],
        ]
    )


def test_replace_uses_the_usersreplace_session(push, jwt_api_client, graph, meta_source, abandoners):
    response = push(jwt_api_client, audienceId="555", mode="replace")

    assert response.json()["status"] == "succeeded"
    (upload,) = graph.of("/555/usersreplace")
    assert json.loads(upload["params"]["session"])["last_batch_flag"] is True


def test_without_an_audience_id_one_is_created_in_the_sources_ad_account(
    push, jwt_api_client, graph, meta_source, abandoners
):
    body = push(jwt_api_client).json()

    (created,) = graph.of("/act_1234567890/customaudiences")
    assert created["params"]["customer_file_source"] == "USER_PROVIDED_ONLY"
    assert body["platformAudienceId"] == "23850000000000001"
    assert graph.of("/23850000000000001/users")


def test_metas_rate_limit_and_errors_are_retried_then_reported(push, jwt_api_client, graph, meta_source, abandoners):
    graph.script = ["429", "500"]
    assert push(jwt_api_client, audienceId="555").json()["status"] == "succeeded"

    graph.script = ["500"] * 4
    failed = push(jwt_api_client, audienceId="555").json()
    assert failed["status"] == "failed"
    assert "Meta is unavailable (500)" in failed["error"]

    graph.script = ["400"]
    refused = push(jwt_api_client, audienceId="555").json()
    assert refused["status"] == "failed"
    assert "Meta refused to add users to the audience: Invalid parameter" in refused["error"]


def test_pushing_needs_a_meta_connection_and_an_editor(push, jwt_api_client, user, workspace, abandoners):
    response = push(jwt_api_client, audienceId="555")
    assert response.status_code == 400
    assert "Connect Meta first" in response.json()["message"]

    Membership.objects.filter(user=user, workspace=workspace).update(role=Membership.Role.VIEWER)
    response = push(jwt_api_client, audienceId="555")
    assert response.status_code == 403
    assert not AudiencePush.objects.exists()


def test_bad_input_is_a_400_naming_the_field(push, jwt_api_client, meta_source):
    assert push(jwt_api_client, audienceId="abc").json()["errors"] == {
        "audienceId": ["A Meta audience id is a number."]
    }
    assert push(jwt_api_client, segment="big_spenders").status_code == 404
    assert "mode" in push(jwt_api_client, mode="merge").json()["errors"]


def test_another_workspaces_push_is_a_404(push, jwt_api_client, other_workspace_user, graph, meta_source, abandoners):
    push_id = push(jwt_api_client, audienceId="555").json()["id"]

    assert jwt_api_client.get(f"/api/audience-pushes/{push_id}").json()["status"] == "succeeded"
    assert api_client_for(other_workspace_user).get(f"/api/audience-pushes/{push_id}").status_code == 404


def export(client, tool):
    response = client.get(f"/api/analytics/segments/cart_abandoners/customers/export?from={FROM}&to={TO}&tool={tool}")
    return response, b"".join(response.streaming_content).decode().splitlines()


def test_the_klaviyo_file_has_klaviyos_columns_and_one_row_per_address(jwt_api_client, abandoners):
    response, lines = export(jwt_api_client, "klaviyo")

    assert 'filename="cart_abandoners-klaviyo.csv"' in response["Content-Disposition"]
    assert lines[0] == "Email,First Name,Last Name,Segment,Orders,Total Spent,Last Seen"
    assert "ada.lovelace@example.com,Ada,Love-lace,cart_abandoners,0,0.00,2026-03-10" in lines
    assert sum(line.startswith("cy@example.com,") for line in lines) == 1
    assert len(lines) == 4  # header, ada, bo, cy: hashed-only and e-mail-less members cannot be mailed


def test_the_mailchimp_file_has_mailchimps_columns_and_the_segment_as_tag(jwt_api_client, abandoners):
    _, lines = export(jwt_api_client, "mailchimp")

    assert lines[0] == "Email Address,First Name,Last Name,Tags"
    assert "bo@example.com,Bö,,cart_abandoners" in lines


def test_an_unknown_export_tool_is_a_400(jwt_api_client, abandoners):
    response = jwt_api_client.get("/api/analytics/segments/cart_abandoners/customers/export?tool=hubspot")
    assert response.status_code == 400
    assert "tool" in response.json()["errors"]


def test_the_segment_page_pushes_for_editors_and_shows_the_result(
    logged_in_client, graph, meta_source, abandoners, django_capture_on_commit_callbacks
):
    page = f"/analytics/segments/cart_abandoners/?date_from={FROM}&date_to={TO}"
    assert "Push segment" in logged_in_client.get(page).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            f"/analytics/segments/cart_abandoners/push/?date_from={FROM}&date_to={TO}",
            {"audience_id": "555", "mode": "add"},
        )

    assert response.status_code == 302
    shown = logged_in_client.get(response["Location"]).content.decode()
    assert "Succeeded" in shown and "4 in 1 batch" in shown


def test_a_viewer_sees_no_push_form_and_cannot_push(logged_in_client, user, workspace, meta_source, abandoners):
    Membership.objects.filter(user=user, workspace=workspace).update(role=Membership.Role.VIEWER)

    assert "Push segment" not in logged_in_client.get("/analytics/segments/cart_abandoners/").content.decode()
    response = logged_in_client.post("/analytics/segments/cart_abandoners/push/", {"audience_id": "555"})
    assert response.status_code == 403
    assert "Your role (viewer) cannot push audiences to ad platforms." in response.content.decode()
    assert not AudiencePush.objects.exists()
