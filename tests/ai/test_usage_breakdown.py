"""Usage and cost per member, per feature and per model: recorded on each provider call, shown on the usage page
and the usage API, scoped to the workspace; the usage page only reads."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from accounts.models import Membership, User
from ai.models import ProviderCall, UsageDailySummary
from ai.providers.base import ChatRequest
from ai.router import complete_sync

pytestmark = pytest.mark.django_db


def ask(purpose: str) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": "Write something"}], purpose=purpose)


@pytest.fixture
def editor(workspace):
    person = User.objects.create_user(
        email="ed@acme.test", password="x-Correct-42", first_name="Ed", last_name="Itor", current_workspace=workspace
    )
    Membership.objects.create(user=person, workspace=workspace, role="editor")
    return person


@pytest.fixture
def calls(fake, user, editor, workspace, other_workspace_user):
    """Calls of two members through the router, one per feature, and one of another workspace."""
    complete_sync(request=ask("chat"), workspace=workspace, user=user)
    complete_sync(request=ask("intent"), workspace=workspace, user=user)
    complete_sync(request=ask("content"), workspace=workspace, user=editor)
    complete_sync(request=ask("recommendation"), workspace=workspace, user=editor)
    complete_sync(request=ask("file_analysis"), workspace=workspace, user=editor)
    complete_sync(request=ask("chat"), workspace=other_workspace_user.current_workspace, user=other_workspace_user)


def test_each_call_records_its_member_and_feature(calls, user, editor):
    rows = list(ProviderCall.objects.order_by("id").values_list("user__email", "purpose", "feature"))

    assert rows[:5] == [
        (user.email, "chat", "chat"),
        (user.email, "intent", "chat"),
        (editor.email, "content", "content"),
        (editor.email, "recommendation", "recommendations"),
        (editor.email, "file_analysis", "file_analysis"),
    ]


def test_the_api_groups_usage_by_feature_member_and_model(calls, jwt_api_client, user, editor):
    by_feature = jwt_api_client.get("/api/ai/usage", {"by": "feature"}).json()
    by_user = jwt_api_client.get("/api/ai/usage", {"by": "user"}).json()
    by_model = jwt_api_client.get("/api/ai/usage", {"by": "model"}).json()

    features = {row["feature"]: (row["featureLabel"], row["calls"]) for row in by_feature}
    assert features == {
        "chat": ("Chat", 2),
        "content": ("Content", 1),
        "recommendations": ("Recommendations", 1),
        "file_analysis": ("File analysis", 1),
    }
    assert [(row["email"], row["name"], row["calls"]) for row in by_user] == [
        (editor.email, "Ed Itor", 3),
        (user.email, "Ada Owner", 2),
    ]
    assert [(row["provider"], row["model"], row["calls"]) for row in by_model] == [("openai", "gpt-4o-mini", 5)]
    # 5 calls of 321 tokens in and 14 out at gpt-4o-mini's $0.15 / $0.60 per million.
    assert Decimal(by_model[0]["cost"]) == Decimal("0.000057") * 5
    assert sum(Decimal(row["cost"]) for row in by_user) == Decimal(by_model[0]["cost"])


def test_a_grouping_or_window_that_does_not_exist_is_a_400(jwt_api_client):
    response = jwt_api_client.get("/api/ai/usage", {"by": "colour", "days": "0"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"by", "days"}


def test_the_usage_page_shows_features_models_and_members_without_writing(calls, logged_in_client, editor):
    response = logged_in_client.get(reverse("ai:usage"))

    html = response.content.decode()
    assert response.status_code == 200 and not UsageDailySummary.objects.exists(), "a GET wrote summaries"
    for section in ("usage-by-feature", "usage-by-model", "usage-by-user"):
        assert f'id="{section}"' in html
    assert "File analysis" in html and "Recommendations" in html and "gpt-4o-mini" in html
    assert "Ed Itor" in html and editor.email in html
    assert "intruder@globex.test" not in html, "another workspace's member"


def test_upgrading_derives_the_feature_of_existing_calls_from_their_purpose(transactional_db):
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    before = [("ai", "0001_initial")]
    executor.migrate(before)
    old = MigrationExecutor(connection).loader.project_state(before).apps
    for purpose in ("chat", "intent", "image", "recommendation", "platform"):
        old.get_model("ai", "ProviderCall").objects.create(provider="openai", purpose=purpose, status="ok")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)

    assert list(ProviderCall.objects.order_by("id").values_list("purpose", "feature")) == [
        ("chat", "chat"),
        ("intent", "chat"),
        ("image", "content"),
        ("recommendation", "recommendations"),
        ("platform", "other"),
    ]
