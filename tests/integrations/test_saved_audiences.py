"""Saved audiences through the API: rules validation, refresh in SQL, size history, members, exports, pushes to a
local fake of Meta Custom Audiences, the scheduled refresh, roles and tenant isolation."""

import csv
import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership
from campaigns.models import Campaign
from integrations.models import Audience, AudienceSizePoint, DataSource
from integrations.tasks import audiences_refresh_due_task
from tests.integrations.analysis_data import Events, customer_create, source_create

pytestmark = pytest.mark.django_db
TOKEN = "EAAB-meta-system-user-token-1234"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def shoppers(workspace):
    """ann: 3 orders (recent); bob: 1 order 100 days ago; cy: carted 3 days ago, never bought; dee: browsed."""
    events = Events(workspace, source_create(workspace))
    for day in (2, 10, 20):
        events.add("ann", "purchase", "40", when=days_ago(day))
    events.add("bob", "purchase", "250", when=days_ago(100))
    events.add("cy", "add_to_cart", "30", when=days_ago(3))
    events.add("dee", "page_view", when=days_ago(1))
    events.save()
    customer_create(workspace, "ann", email=" Ann@Example.COM ", first_name="Ann", last_name="Lee")
    customer_create(workspace, "bob", email="bob@example.com", first_name="Bob")
    customer_create(workspace, "cy", email_sha256=sha("cy@example.com").upper())
    customer_create(workspace, "dee")


@pytest.fixture
def create(jwt_api_client, django_capture_on_commit_callbacks):
    """POST an audience; its first refresh runs as it would after commit, and `detail` is what a client polling
    the audience then reads."""

    def post(rules, name="Buyers", client=jwt_api_client, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/audiences", {"name": name, "rules": rules, **extra}, format="json")
        if response.status_code == 201:
            response.detail = client.get(f"/api/audiences/{response.json()['id']}").json()
        return response

    return post


def members(client, audience_id: int) -> set[str]:
    response = client.get(f"/api/audiences/{audience_id}/members")
    assert response.status_code == 200
    return {row["customerKey"] for row in response.json()["results"]}


REPEAT = {"match": "all", "conditions": [{"type": "total", "field": "orders", "op": "gte", "value": 2}]}


def test_an_audience_of_customer_totals_is_refreshed_at_once_with_its_members(create, jwt_api_client, shoppers):
    response = create(REPEAT)

    assert response.status_code == 201
    body = response.detail
    assert (body["size"], body["refreshStatus"]) == (1, "succeeded")
    assert body["ruleSummary"] == ["Orders ≥ 2"]
    assert [point["size"] for point in body["sizeHistory"]] == [1]
    assert members(jwt_api_client, body["id"]) == {"ann"}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"type": "event", "eventType": "purchase", "op": "did", "days": 30}, {"ann"}),
        ({"type": "event", "eventType": "purchase", "op": "did_not", "days": 30}, {"bob", "cy", "dee"}),
        ({"type": "segment", "segment": "cart_abandoners", "op": "in", "days": 7}, {"cy"}),
        ({"type": "segment", "segment": "cart_abandoners", "op": "not_in", "days": 7}, {"ann", "bob", "dee"}),
        ({"type": "total", "field": "revenue", "op": "gt", "value": "200"}, {"bob"}),
        ({"type": "total", "field": "lastSeenDays", "op": "lte", "value": 5}, {"ann", "cy", "dee"}),
    ],
)
def test_each_kind_of_condition_selects_the_customers_it_describes(
    create, jwt_api_client, shoppers, condition, expected
):
    body = create({"match": "all", "conditions": [condition]}).detail

    assert members(jwt_api_client, body["id"]) == expected
    assert body["size"] == len(expected)


def test_match_any_joins_and_match_all_intersects(create, jwt_api_client, shoppers):
    bought = {"type": "event", "eventType": "purchase", "op": "did", "days": 30}
    carted = {"type": "event", "eventType": "add_to_cart", "op": "did", "days": 30}

    either = create({"match": "any", "conditions": [bought, carted]}, name="Either").detail
    both = create({"match": "all", "conditions": [bought, carted]}, name="Both").detail

    assert members(jwt_api_client, either["id"]) == {"ann", "cy"}
    assert both["size"] == 0


@pytest.mark.parametrize(
    ("rules", "field", "message"),
    [
        ([], "rules", "Send an object"),
        ({"match": "most", "conditions": [REPEAT["conditions"][0]]}, "rules.match", "Use all or any."),
        ({"conditions": []}, "rules.conditions", "Add at least one condition."),
        ({"conditions": [{"type": "weather"}]}, "rules.conditions[0].type", "Use one of"),
        ({"conditions": [{"type": "segment", "segment": "vips"}]}, "rules.conditions[0].segment", "Use one of"),
        ({"conditions": [{"type": "event", "eventType": "purchase", "days": 0}]}, "rules.conditions[0].days", "1 to"),
        (
            {"conditions": [{"type": "total", "field": "orders", "op": "gte", "value": "x"}]},
            "rules.conditions[0].value",
            "A number.",
        ),
        (
            {"conditions": [{"type": "total", "field": "orders", "op": "gte", "value": -1}]},
            "rules.conditions[0].value",
            "Zero or more.",
        ),
        (
            {"conditions": [{"type": "total", "field": "height", "op": "gte", "value": 1}]},
            "rules.conditions[0].field",
            "Use one of",
        ),
    ],
)
def test_invalid_rules_answer_400_naming_the_field_and_store_nothing(create, rules, field, message):
    response = create(rules)

    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert any(message in text for text in body["errors"][field]), body
    assert not Audience.objects.exists()


def test_a_name_is_required_and_unique_in_the_workspace(create, shoppers):
    assert create(REPEAT, name="  ").json()["errors"] == {"name": ["Give the audience a name."]}
    assert create(REPEAT).status_code == 201
    again = create(REPEAT)
    assert again.status_code == 409
    assert Audience.objects.count() == 1


def test_refresh_on_demand_follows_new_data_and_adds_to_the_size_history(
    create, jwt_api_client, workspace, shoppers, django_capture_on_commit_callbacks
):
    audience = create(REPEAT).detail
    Events(workspace, source_create(workspace, name="More")).add("bob", "purchase", "10", when=days_ago(1)).save()

    with django_capture_on_commit_callbacks(execute=True):
        response = jwt_api_client.post(f"/api/audiences/{audience['id']}/refresh")

    assert response.status_code == 202
    detail = jwt_api_client.get(f"/api/audiences/{audience['id']}").json()
    assert detail["size"] == 2
    assert [point["size"] for point in detail["sizeHistory"]] == [1, 2]
    assert members(jwt_api_client, audience["id"]) == {"ann", "bob"}


def test_editing_the_rules_refreshes_and_a_bad_edit_changes_nothing(
    create, jwt_api_client, shoppers, django_capture_on_commit_callbacks
):
    audience = create(REPEAT).detail
    url = f"/api/audiences/{audience['id']}"

    bad = jwt_api_client.patch(url, {"rules": {"conditions": [{"type": "total"}]}}, format="json")
    assert bad.status_code == 400
    assert Audience.objects.get().rules == audience["rules"]

    with django_capture_on_commit_callbacks(execute=True):
        edited = jwt_api_client.patch(
            url,
            {"rules": {"match": "all", "conditions": [{"type": "total", "field": "orders", "op": "gte", "value": 1}]}},
            format="json",
        )
    assert edited.status_code == 200
    assert jwt_api_client.get(url).json()["size"] == 2


def test_the_schedule_refreshes_stale_audiences_only(create, shoppers, settings, django_capture_on_commit_callbacks):
    settings.AUDIENCE_REFRESH_MINUTES = 60
    stale = Audience.objects.get(id=create(REPEAT, name="Stale").json()["id"])
    fresh = Audience.objects.get(id=create(REPEAT, name="Fresh").json()["id"])
    Audience.objects.filter(id=stale.id).update(refreshed_at=timezone.now() - timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        queued = audiences_refresh_due_task()

    assert queued == 1
    assert AudienceSizePoint.objects.filter(audience=stale).count() == 2
    assert AudienceSizePoint.objects.filter(audience=fresh).count() == 1


def test_csv_export_lists_every_member_with_totals(create, jwt_api_client, shoppers):
    audience = create(
        {"match": "any", "conditions": [{"type": "total", "field": "orders", "op": "gte", "value": 0}]}
    ).detail

    response = jwt_api_client.get(f"/api/audiences/{audience['id']}/export?format=csv")

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["customer_key"] for row in rows} == {"ann", "bob", "cy", "dee"}
    ann = next(row for row in rows if row["customer_key"] == "ann")
    assert (ann["orders"], ann["revenue"], ann["email"]) == ("3", "120.00", " Ann@Example.COM ")


def test_hashed_export_normalizes_like_meta_and_skips_customers_without_an_email(create, jwt_api_client, shoppers):
    audience = create(
        {"match": "any", "conditions": [{"type": "total", "field": "events", "op": "gte", "value": 1}]}
    ).detail

    response = jwt_api_client.get(f"/api/audiences/{audience['id']}/export?format=hashed")

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "email,fn,ln"
    assert sorted(lines[1:]) == sorted(
        [
            f"{sha('ann@example.com')},{sha('ann')},{sha('lee')}",
            f"{sha('bob@example.com')},{sha('bob')},",
            f"{sha('cy@example.com')},,",
        ]
    )


@pytest.mark.parametrize(
    ("tool", "header"),
    [
        ("klaviyo", "Email,First Name,Last Name,Segment,Orders,Total Spent,Last Seen"),
        ("mailchimp", "Email Address,First Name,Last Name,Tags"),
    ],
)
def test_contact_files_for_klaviyo_and_mailchimp_carry_the_audience_name(
    create, jwt_api_client, shoppers, tool, header
):
    audience = create(REPEAT, name="Loyal").detail

    text = b"".join(jwt_api_client.get(f"/api/audiences/{audience['id']}/export?format={tool}").streaming_content)

    lines = text.decode().splitlines()
    assert lines[0] == header
    assert lines[1].startswith("ann@example.com,Ann,Lee,Loyal")


def test_an_unknown_export_format_is_a_400(create, jwt_api_client, shoppers):
    audience = create(REPEAT).detail
    response = jwt_api_client.get(f"/api/audiences/{audience['id']}/export?format=xlsx")
    assert response.status_code == 400
    assert "format" in response.json()["errors"]


def test_a_saved_audience_reaches_meta_hashed_in_one_session(
    create, jwt_api_client, shoppers, workspace, graph, django_capture_on_commit_callbacks
):
    DataSource.objects.create(
        workspace=workspace,
        source_type="facebook_pixel",
        name="Meta",
        config={"pixelId": "123456789012345", "adAccountId": "1234567890"},
        secrets={"accessToken": TOKEN},
    )
    audience = create(
        {"match": "any", "conditions": [{"type": "total", "field": "events", "op": "gte", "value": 1}]}, name="Everyone"
    ).detail

    with django_capture_on_commit_callbacks(execute=True):
        response = jwt_api_client.post(f"/api/audiences/{audience['id']}/pushes", {}, format="json")

    assert response.status_code == 202
    push = jwt_api_client.get(f"/api/audience-pushes/{response.json()['id']}").json()
    assert (push["status"], push["audience"], push["sent"], push["skipped"]) == ("succeeded", audience["id"], 3, 1)
    (created,) = graph.of("/act_1234567890/customaudiences")
    assert created["params"]["name"] == f"Everyone ({workspace.name})"
    (upload,) = graph.of("/23850000000000001/users")
    payload = json.loads(upload["params"]["payload"])
    assert payload["schema"] == ["EMAIL", "FN", "LN"]
    assert sorted(payload["data"]) == sorted(
        [
            [sha("ann@example.com"), sha("ann"), sha("lee")],
            [sha("bob@example.com"), sha("bob"), ""],
            [sha("cy@example.com"), "", ""],
        ]
    )
    assert json.loads(upload["params"]["session"])["last_batch_flag"] is True


def test_viewers_read_audiences_but_cannot_change_or_export_them(create, jwt_api_client, user, workspace, shoppers):
    audience = create(REPEAT).detail
    Membership.objects.filter(user=user, workspace=workspace).update(role=Membership.Role.VIEWER)
    url = f"/api/audiences/{audience['id']}"

    assert jwt_api_client.get(url).status_code == 200
    assert jwt_api_client.get(f"{url}/members").status_code == 200
    assert create(REPEAT, name="Mine").status_code == 403
    assert jwt_api_client.patch(url, {"name": "X"}, format="json").status_code == 403
    assert jwt_api_client.post(f"{url}/refresh").status_code == 403
    assert jwt_api_client.get(f"{url}/export?format=csv").status_code == 403
    assert jwt_api_client.delete(url).status_code == 403
    assert Audience.objects.get().name == "Buyers"


def test_another_workspaces_audience_is_a_404_everywhere(create, other_jwt_api_client, shoppers):
    audience = create(REPEAT).detail
    url = f"/api/audiences/{audience['id']}"

    for response in (
        other_jwt_api_client.get(url),
        other_jwt_api_client.patch(url, {"name": "Mine"}, format="json"),
        other_jwt_api_client.delete(url),
        other_jwt_api_client.get(f"{url}/members"),
        other_jwt_api_client.post(f"{url}/refresh"),
        other_jwt_api_client.get(f"{url}/export?format=csv"),
        other_jwt_api_client.post(f"{url}/pushes", {}, format="json"),
    ):
        assert response.status_code == 404
        assert response.json()["statusCode"] == 404
    assert other_jwt_api_client.get("/api/audiences").json()["count"] == 0
    assert Audience.objects.get().name == "Buyers"


def test_deleting_an_audience_removes_it(create, jwt_api_client, shoppers):
    audience = create(REPEAT).detail
    assert jwt_api_client.delete(f"/api/audiences/{audience['id']}").status_code == 204
    assert jwt_api_client.get(f"/api/audiences/{audience['id']}").status_code == 404


def test_the_member_list_is_paginated_in_bounded_queries(
    create, jwt_api_client, workspace, django_assert_max_num_queries
):
    events = Events(workspace, source_create(workspace))
    for number in range(30):
        events.add(f"c{number:02d}", "page_view", when=days_ago(1))
    events.save()
    audience = create(
        {"match": "all", "conditions": [{"type": "total", "field": "events", "op": "gte", "value": 1}]}
    ).detail

    with django_assert_max_num_queries(8):
        page = jwt_api_client.get(f"/api/audiences/{audience['id']}/members?pageSize=10&page=2").json()

    assert page["count"] == 30
    assert len(page["results"]) == 10


def test_a_campaign_keeps_its_audiences_definition_and_size_at_launch(
    create, jwt_api_client, workspace, user, shoppers
):
    audience = create(REPEAT, name="Loyal").detail
    created = jwt_api_client.post(
        "/api/campaigns",
        {"name": "Thank you", "objective": "Reward loyalty", "audienceId": audience["id"]},
        format="json",
    )
    assert created.status_code == 201
    campaign_id = created.json()["id"]
    assert created.json()["audienceSnapshot"] == {}
    Campaign.objects.filter(id=campaign_id).update(
        status="approved", starts_at=days_ago(1), ends_at=timezone.now() + timedelta(days=5)
    )
    Events(workspace, source_create(workspace, name="More")).add("bob", "purchase", "10", when=days_ago(1)).save()

    for status in ("scheduled", "active"):
        assert (
            jwt_api_client.patch(f"/api/campaigns/{campaign_id}", {"status": status}, format="json").status_code == 200
        )

    snapshot = jwt_api_client.get(f"/api/campaigns/{campaign_id}").json()["audienceSnapshot"]
    assert (snapshot["name"], snapshot["size"], snapshot["rules"]) == ("Loyal", 2, audience["rules"])
    # Later edits of the audience do not rewrite what the campaign launched with.
    jwt_api_client.patch(f"/api/audiences/{audience['id']}", {"name": "Renamed", "rules": REPEAT}, format="json")
    Events(workspace, source_create(workspace, name="Later")).add("cy", "purchase", "5", times=2).save()
    jwt_api_client.post(f"/api/audiences/{audience['id']}/refresh")
    assert Campaign.objects.get(id=campaign_id).audience_snapshot == snapshot


def test_a_campaign_cannot_target_another_workspaces_audience(create, other_jwt_api_client, shoppers):
    audience = create(REPEAT).detail

    response = other_jwt_api_client.post(
        "/api/campaigns", {"name": "Steal", "objective": "x", "audienceId": audience["id"]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"audienceId": ["No such audience in this workspace."]}
    assert not Campaign.objects.exists()
