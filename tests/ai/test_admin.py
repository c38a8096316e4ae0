"""The AI platform's admin pages: every changelist loads; provider keys never show their secret."""

import pytest

from ai.calls import provider_call_record
from ai.models import ProviderKey
from ai.usage import usage_aggregate_recent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["providerkey", "providercall", "usagedailysummary"])
def test_every_ai_changelist_loads_with_its_filters(admin_client, workspace, model):
    ProviderKey.objects.create(workspace=workspace, provider="openai", secret="sk-test-1234", last_four="1234")
    provider_call_record(workspace=workspace, provider="openai", purpose="chat", status="ok", latency_ms=5)
    usage_aggregate_recent()

    page = admin_client.get(f"/admin/ai/{model}/")

    assert page.status_code == 200 and "openai" in page.content.decode()
    assert admin_client.get(f"/admin/ai/{model}/?provider=openai").status_code == 200


def test_provider_keys_never_show_the_secret(admin_client, workspace, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["kO0kmM1uS2FHGxaGgGQJH6C2uXGxSWpHG0v6pBp8a4c="]
    key = ProviderKey.objects.create(
        workspace=workspace, provider="openai", secret="sk-live-SECRET-1234", last_four="1234"
    )

    listing = admin_client.get("/admin/ai/providerkey/").content.decode()
    detail = admin_client.get(f"/admin/ai/providerkey/{key.id}/change/").content.decode()

    assert "****1234" in listing and "****1234" in detail
    assert "SECRET" not in listing and "SECRET" not in detail
