"""Saved-audience pages: the rule builder without JavaScript (add, remove, preview, save, errors), the list, an
audience's page (size, chart, members, exports, push form), the campaign form's audience choice, isolation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership
from integrations.audiences.services import audience_create
from integrations.models import Audience
from tests.integrations.analysis_data import Events, customer_create, source_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyers(workspace):
    events = Events(workspace, source_create(workspace))
    for number in range(3):
        events.add(f"b{number}", "purchase", "20", when=timezone.now() - timedelta(days=2), times=number + 1)
    events.add("v0", "page_view", when=timezone.now() - timedelta(days=1))
    events.save()
    customer_create(workspace, "b2", email="top@example.com", first_name="Tess", last_name="Top")


def row(index: int, **fields) -> dict:
    return {f"c-{index}-{key}": value for key, value in fields.items()}


REPEAT_ROW = row(0, type="total", field="orders", op="gte", value="2")


def test_add_and_remove_redraw_the_builder_with_one_row_more_or_less(logged_in_client):
    added = logged_in_client.post("/audiences/new/", {"name": "X", "match": "all", **REPEAT_ROW, "action": "add"})
    assert added.status_code == 200
    html = added.content.decode()
    assert 'name="c-1-type"' in html and 'name="c-2-type"' not in html
    assert 'value="X"' in html  # what was typed stays

    removed = logged_in_client.post(
        "/audiences/new/",
        {"name": "X", **REPEAT_ROW, **row(1, type="event", event_type="purchase"), "action": "remove-0"},
    )
    html = removed.content.decode()
    assert 'name="c-1-type"' not in html
    assert '<option value="purchase" selected>' in html  # the event row moved up, its values kept
    assert not Audience.objects.exists()


def test_preview_counts_without_saving(logged_in_client, buyers):
    response = logged_in_client.post("/audiences/new/", {"name": "Repeat", **REPEAT_ROW, "action": "preview"})

    assert "<strong>2</strong> customers match right now." in response.content.decode()
    assert not Audience.objects.exists()


def test_saving_invalid_rules_shows_the_error_on_its_row_with_422(logged_in_client, buyers):
    response = logged_in_client.post(
        "/audiences/new/", {"name": "Bad", **row(0, type="event", event_type="purchase", days="0"), "action": "save"}
    )

    assert response.status_code == 422
    assert "days: A whole number of days from 1 to 730." in response.content.decode()
    assert not Audience.objects.exists()


def test_saving_creates_the_audience_and_its_page_shows_size_chart_members_and_exports(
    logged_in_client, buyers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the first refresh, queued after commit
        response = logged_in_client.post("/audiences/new/", {"name": "Repeat", "match": "all", **REPEAT_ROW})

    audience = Audience.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/audiences/{audience.id}/"
    html = logged_in_client.get(response["Location"]).content.decode()
    assert "<strong>2</strong> customers" in html
    assert "Orders ≥ 2" in html
    assert 'class="chart time-chart"' in html
    assert "Tess Top" in html and "b1" in html
    assert f"/api/audiences/{audience.id}/export?format=hashed" in html
    assert "Connect Meta first" in html


def test_editing_loads_the_rules_into_the_builder(logged_in_client, user, buyers):
    audience = audience_create(
        user=user, name="Recent", rules={"match": "any", "conditions": [{"type": "event", "eventType": "page_view"}]}
    )

    html = logged_in_client.get(f"/audiences/{audience.id}/edit/").content.decode()

    assert '<option value="page_view" selected>' in html
    assert 'value="any" checked' in html


def test_the_list_shows_each_audience_and_viewers_get_no_buttons(logged_in_client, user, workspace, buyers):
    assert "No audiences yet" in logged_in_client.get("/audiences/").content.decode()
    audience_create(user=user, name="Repeat", rules={"conditions": [REPEAT_CONDITION]})

    html = logged_in_client.get("/audiences/").content.decode()
    assert "Repeat" in html and "Orders ≥ 2" in html and "New audience" in html

    Membership.objects.filter(user=user, workspace=workspace).update(role=Membership.Role.VIEWER)
    html = logged_in_client.get("/audiences/").content.decode()
    assert "Repeat" in html and "New audience" not in html
    assert logged_in_client.post("/audiences/new/", {"name": "Mine", **REPEAT_ROW}).status_code == 403


REPEAT_CONDITION = {"type": "total", "field": "orders", "op": "gte", "value": 2}


def test_another_workspaces_audience_pages_are_404(client, other_workspace_user, user, buyers):
    audience = audience_create(user=user, name="Repeat", rules={"conditions": [REPEAT_CONDITION]})
    client.force_login(other_workspace_user)

    for url in ("", "edit/"):
        assert client.get(f"/audiences/{audience.id}/{url}").status_code == 404
    for url in ("refresh/", "push/", "delete/"):
        assert client.post(f"/audiences/{audience.id}/{url}").status_code == 404
    assert Audience.objects.filter(id=audience.id).exists()


def test_the_campaign_form_offers_the_workspaces_audiences(logged_in_client, user, buyers):
    audience = audience_create(user=user, name="Repeat", rules={"conditions": [REPEAT_CONDITION]})

    assert f'<option value="{audience.id}">Repeat (' in logged_in_client.get("/campaigns/new/").content.decode()
    response = logged_in_client.post(
        "/campaigns/new/", {"name": "Loyal", "objective": "Thank them", "budget": "0", "audience_id": audience.id}
    )

    assert response.status_code == 302
    assert audience.campaigns.get().name == "Loyal"
