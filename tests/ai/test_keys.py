"""Per-workspace provider keys: validated with a real call, encrypted at rest, masked, rotatable, role-guarded."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import AuditEvent, Membership, User
from ai.models import ProviderKey

pytestmark = pytest.mark.django_db

GOOD = "sk-test-valid-key-1234"


def raw_secret(provider="openai") -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM ai_providerkey WHERE provider = %s", [provider])
        return cursor.fetchone()[0]


def add_key(api, fake, secret=GOOD, **extra):
    return api.post(
        "/api/ai/provider-keys", {"provider": "openai", "secret": secret, "baseUrl": fake.base_url, **extra}
    )


def member_client(workspace, role):
    from tests.conftest import api_client_for

    member = User.objects.create_user(
        email=f"{role}@acme.test", password="Correct-Horse-42", current_workspace=workspace
    )
    Membership.objects.create(user=member, workspace=workspace, role=role)
    return api_client_for(member)


def test_a_valid_key_is_checked_stored_encrypted_and_shown_masked(jwt_api_client, fake, workspace):
    response = add_key(jwt_api_client, fake, model="gpt-4o")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["masked"] == "****1234" and body["lastFour"] == "1234" and body["validatedAt"]
    assert GOOD not in response.content.decode() and "secret" not in body
    assert fake.requests[-1]["path"] == "/v1/models" and fake.requests[-1]["auth"] == f"Bearer {GOOD}"
    stored = raw_secret()
    assert GOOD not in stored and "1234" not in stored
    assert ProviderKey.objects.get(workspace=workspace).secret == GOOD
    assert AuditEvent.objects.filter(kind="provider_key_changed").count() == 1


def test_a_refused_key_is_a_400_with_the_reason_and_nothing_is_stored(jwt_api_client, fake):
    response = add_key(jwt_api_client, fake, secret="sk-test-wrong-key-0000")

    assert response.status_code == 400
    assert "HTTP 401" in response.json()["message"] and "secret" in response.json()["errors"]
    assert not ProviderKey.objects.exists()


def test_bad_input_is_a_400_without_a_call(jwt_api_client, fake):
    response = jwt_api_client.post("/api/ai/provider-keys", {"provider": "mistral", "secret": GOOD, "baseUrl": "x"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"provider", "baseUrl"}
    assert fake.requests == []


def test_the_list_never_returns_the_secret(jwt_api_client, fake):
    add_key(jwt_api_client, fake)

    response = jwt_api_client.get("/api/ai/provider-keys")

    assert response.status_code == 200
    assert [k["masked"] for k in response.json()] == ["****1234"]
    assert GOOD not in response.content.decode()


def test_replacing_a_key_keeps_one_row(jwt_api_client, fake):
    add_key(jwt_api_client, fake)
    add_key(jwt_api_client, fake, secret="sk-test-valid-key-5678")

    assert ProviderKey.objects.get().last_four == "5678"


def test_the_test_button_reports_ok_and_refusal(jwt_api_client, fake):
    add_key(jwt_api_client, fake)

    ok = jwt_api_client.post("/api/ai/provider-keys/openai/test")
    fake.valid_keys.clear()
    refused = jwt_api_client.post("/api/ai/provider-keys/openai/test")

    assert ok.status_code == 200 and ok.json()["ok"] is True
    assert refused.status_code == 200 and refused.json()["ok"] is False and "401" in refused.json()["message"]


def test_deleting_a_key(jwt_api_client, fake):
    add_key(jwt_api_client, fake)

    assert jwt_api_client.delete("/api/ai/provider-keys/openai").status_code == 204
    assert not ProviderKey.objects.exists()
    assert jwt_api_client.delete("/api/ai/provider-keys?provider=openai").status_code == 404


@pytest.mark.parametrize("role", ["editor", "viewer", "approver"])
def test_members_below_admin_cannot_change_keys_or_order(jwt_api_client, fake, workspace, role):
    add_key(jwt_api_client, fake)
    member = member_client(workspace, role)

    assert add_key(member, fake).status_code == 403
    assert member.delete("/api/ai/provider-keys/openai").status_code == 403
    assert member.post("/api/ai/provider-keys/openai/test").status_code == 403
    assert member.put("/api/ai/providers", {"providers": ["local"]}, format="json").status_code == 403
    assert member.get("/api/ai/provider-keys").json()[0]["masked"] == "****1234"
    assert ProviderKey.objects.count() == 1


def test_an_admin_may_change_keys(fake, workspace):
    assert add_key(member_client(workspace, "admin"), fake).status_code == 201


def test_another_workspace_cannot_reach_the_key(jwt_api_client, other_jwt_api_client, fake):
    add_key(jwt_api_client, fake)

    assert other_jwt_api_client.delete("/api/ai/provider-keys/openai").status_code == 404
    assert other_jwt_api_client.post("/api/ai/provider-keys/openai/test").status_code == 404
    assert other_jwt_api_client.get("/api/ai/provider-keys").json() == []
    assert ProviderKey.objects.count() == 1


def test_provider_order_can_be_set_and_validated(jwt_api_client, workspace):
    ok = jwt_api_client.put("/api/ai/providers", {"providers": ["openai", "local"]}, format="json")
    bad = jwt_api_client.put("/api/ai/providers", {"providers": ["skynet"]}, format="json")

    assert ok.status_code == 200 and ok.json()["providers"] == ["openai", "local"]
    assert ok.json()["isWorkspaceOverride"] is True
    assert bad.status_code == 400 and "providers" in "".join(bad.json()["errors"])
    workspace.refresh_from_db()
    assert workspace.ai_providers == "openai,local"


def test_rotation_re_encrypts_with_the_newest_key(jwt_api_client, fake, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    add_key(jwt_api_client, fake)
    before = raw_secret()

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert ProviderKey.objects.get().secret == GOOD  # old rows still read during the rotation
    call_command("rotate_encryption_keys")
    after = raw_secret()

    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert after != before and GOOD not in after
    assert ProviderKey.objects.get().secret == GOOD
    assert Fernet(new.encode()).decrypt(after.encode()).decode() == GOOD


def test_rotation_leaves_rows_it_cannot_read_untouched_and_says_so(jwt_api_client, fake, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    add_key(jwt_api_client, fake)
    before = raw_secret()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key was lost

    with pytest.raises(CommandError, match="1 rows could not be read"):
        call_command("rotate_encryption_keys")

    assert raw_secret() == before


@pytest.mark.parametrize(
    "secret", ["sk-éééééééééééééééééé", "sk-test-valid\x07key-1234", "sk-test valid-key-1234", "sk-test\tvalid-key"]
)
def test_a_secret_with_non_ascii_control_or_space_characters_is_a_400_without_a_call(jwt_api_client, fake, secret):
    response = add_key(jwt_api_client, fake, secret=secret)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["statusCode"] == 400 and "printable ASCII" in body["errors"]["secret"][0]
    assert fake.requests == [] and not ProviderKey.objects.exists()


def test_surrounding_whitespace_of_a_secret_is_stripped(jwt_api_client, fake):
    response = add_key(jwt_api_client, fake, secret=f"  {GOOD}\n")

    assert response.status_code == 201, response.content
    assert fake.requests[-1]["auth"] == f"Bearer {GOOD}" and ProviderKey.objects.get().last_four == GOOD[-4:]
