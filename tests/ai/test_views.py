"""The AI providers settings page: order form, masked keys with add/test/delete, usage table, roles."""

import pytest
from django.urls import reverse

from accounts.models import Membership, User
from ai.calls import provider_call_record
from ai.models import ProviderKey

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
GOOD = "sk-test-valid-key-1234"


def test_the_page_shows_empty_states(logged_in_client):
    response = logged_in_client.get(reverse("ai:settings"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Provider order" in html and "No workspace keys" in html and "No AI calls yet" in html
    assert "Check and save key" in html


def test_the_page_masks_keys_and_shows_usage(logged_in_client, workspace, settings):
    settings.AI_PROVIDERS = ["local"]
    ProviderKey.objects.create(workspace=workspace, provider="openai", secret=GOOD, last_four="1234")
    provider_call_record(
        workspace=workspace,
        provider="openai",
        model="gpt-4o-mini",
        tokens_in=1000,
        tokens_out=500,
        purpose="chat",
        status="ok",
        latency_ms=250,
    )

    html = logged_in_client.get(reverse("ai:settings")).content.decode()

    assert "****1234" in html and GOOD not in html
    assert "A key is stored for openai, which is not in the order" in html
    assert "0.000450" in html and "250 ms" in html and ">1000<" in html


def test_saving_the_order_returns_the_fragment_with_a_toast(logged_in_client, workspace):
    response = logged_in_client.post(reverse("ai:provider-order"), {"providers": "openai, local"}, **HTMX)

    assert response.status_code == 200
    assert "1. openai" in response.content.decode() and "toast" in response["HX-Trigger"]
    workspace.refresh_from_db()
    assert workspace.ai_providers == "openai,local"


def test_an_invalid_order_is_a_422_with_the_error_inline(logged_in_client, workspace):
    response = logged_in_client.post(reverse("ai:provider-order"), {"providers": "openai, skynet"}, **HTMX)

    assert response.status_code == 422
    assert "Unknown provider: skynet." in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.ai_providers == ""


def test_adding_a_key_checks_it_and_shows_it_masked(logged_in_client, fake):
    data = {"provider": "openai", "secret": GOOD, "base_url": fake.base_url, "model": ""}

    response = logged_in_client.post(reverse("ai:provider-key-save"), data, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200 and "****1234" in html and GOOD not in html
    assert ProviderKey.objects.get().secret == GOOD


def test_a_refused_key_is_a_422_with_the_reason(logged_in_client, fake):
    data = {"provider": "openai", "secret": "sk-test-refused-0000", "base_url": fake.base_url}

    response = logged_in_client.post(reverse("ai:provider-key-save"), data, **HTMX)

    assert response.status_code == 422
    assert "The key was not accepted" in response.content.decode()
    assert not ProviderKey.objects.exists()


def test_a_malformed_key_is_a_422_that_says_what_is_wrong_with_it(logged_in_client, fake):
    data = {"provider": "openai", "secret": "sk test with spaces", "base_url": fake.base_url}

    response = logged_in_client.post(reverse("ai:provider-key-save"), data, **HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "without spaces" in html and "Some fields are invalid" not in html


def test_the_test_button_shows_ok_or_error(logged_in_client, fake, workspace):
    ProviderKey.objects.create(
        workspace=workspace, provider="openai", secret=GOOD, last_four="1234", base_url=fake.base_url
    )
    url = reverse("ai:provider-key-test", args=["openai"])

    ok = logged_in_client.post(url, **HTMX).content.decode()
    fake.valid_keys.clear()
    refused = logged_in_client.post(url, **HTMX).content.decode()

    assert 'class="badge success"' in ok and "OK: Key accepted" in ok
    assert 'class="badge error"' in refused and "401" in refused


def test_deleting_a_key_from_the_page(logged_in_client, workspace):
    ProviderKey.objects.create(workspace=workspace, provider="openai", secret=GOOD, last_four="1234")

    response = logged_in_client.post(reverse("ai:provider-key-delete", args=["openai"]), **HTMX)

    assert response.status_code == 200 and "No workspace keys" in response.content.decode()
    assert not ProviderKey.objects.exists()


def test_a_member_sees_the_page_read_only_and_cannot_change_it(client, workspace):
    member = User.objects.create_user(email="ed@acme.test", password="x-Correct-42", current_workspace=workspace)
    Membership.objects.create(user=member, workspace=workspace, role="editor")
    client.force_login(member)

    page = client.get(reverse("ai:settings")).content.decode()
    response = client.post(reverse("ai:provider-order"), {"providers": "local"}, **HTMX)

    assert "Only owners and admins" in page and "Save order" not in page
    assert 'value="workspace"' not in page and 'value="personal"' in page  # personal keys only
    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("ai:settings"))

    assert response.status_code == 302 and "login" in response["Location"]


def test_without_javascript_the_order_form_redirects_with_a_message(logged_in_client):
    response = logged_in_client.post(reverse("ai:provider-order"), {"providers": "local"}, follow=True)

    assert response.redirect_chain == [(reverse("ai:settings"), 302)]
    assert "Provider order saved." in response.content.decode()


def test_testing_a_key_the_provider_now_refuses_switches_it_off_and_shows_it(logged_in_client, fake, workspace):
    ProviderKey.objects.create(
        workspace=workspace, provider="openai", secret="sk-test-revoked-0000", last_four="0000", base_url=fake.base_url
    )

    response = logged_in_client.post(reverse("ai:provider-key-test", args=["openai"]), {"scope": "workspace"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200 and response["HX-Retarget"] == "#provider-keys"
    assert "Refused" in html and "switched off" in html
    assert not ProviderKey.objects.get().is_active
