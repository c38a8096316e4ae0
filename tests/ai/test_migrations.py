"""Upgrading a database from before the ai app keeps every provider key (still decryptable), call and summary."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ai.models import ProviderCall, ProviderKey, UsageDailySummary

# The last migration of each app before the AI models moved into the ai app.
BEFORE_THE_MOVE = [
    ("accounts", "0003_notification_general"),
    ("chat", "0001_initial"),
    ("campaigns", "0004_notification_moved_to_accounts"),
]
SECRET = "sk-live-the-old-key-9876"


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.fixture
def migrated_back(transactional_db, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["kO0kmM1uS2FHGxaGgGQJH6C2uXGxSWpHG0v6pBp8a4c="]
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    executor = _migrate([*BEFORE_THE_MOVE, ("ai", None)])
    yield executor.loader.project_state(BEFORE_THE_MOVE).apps
    _migrate(latest)  # the rest of the suite runs on the current schema


def test_upgrading_keeps_keys_readable_and_calls_and_summaries(migrated_back):
    old = migrated_back
    user = old.get_model("accounts", "User").objects.create(email="owner@old.test", password="x")
    workspace = old.get_model("accounts", "Workspace").objects.create(name="Old Shop")
    old.get_model("accounts", "ProviderKey").objects.create(
        workspace=workspace, provider="openai", secret=SECRET, last_four="9876", created_by=user, model="gpt-4o-mini"
    )
    old.get_model("chat", "ProviderCall").objects.create(
        workspace=workspace, provider="openai", model="gpt-4o-mini", purpose="chat", status="ok", tokens_in=10
    )
    old.get_model("campaigns", "UsageDailySummary").objects.create(
        workspace=workspace,
        provider="openai",
        day=date(2026, 1, 2),
        requests=3,
        cost=Decimal("0.5"),
        updated_at=datetime(2026, 1, 3, tzinfo=UTC),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_providerkey")
        stored = cursor.fetchone()[0]

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    key = ProviderKey.objects.get()
    assert (key.workspace_id, key.created_by_id, key.provider, key.masked) == (
        workspace.id,
        user.id,
        "openai",
        "****9876",
    )
    assert key.secret == SECRET and stored != SECRET  # encrypted at rest before, decrypts after
    call = ProviderCall.objects.get()
    assert (call.workspace_id, call.provider, call.purpose, call.tokens_in) == (workspace.id, "openai", "chat", 10)
    summary = UsageDailySummary.objects.get()
    assert (summary.workspace_id, summary.day, summary.requests) == (workspace.id, date(2026, 1, 2), 3)
    # New rows continue the old ids rather than colliding with them.
    assert ProviderCall.objects.create(workspace_id=workspace.id, provider="local", status="ok").id > call.id
