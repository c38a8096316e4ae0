"""Personal keys beside workspace keys, keys of every hosted provider checked on save against the fakes, key
rotation, and a key the provider starts refusing: switched off, its owner notified, the answer falls back."""

import pytest
from asgiref.sync import async_to_sync

from accounts.models import AuditEvent, Membership, Notification, User
from ai.models import ProviderCall, ProviderKey
from ai.providers.base import ChatRequest
from ai.providers.kept import clients_per_call
from ai.router import providers_for, stream_reply
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

GOOD, OTHER_GOOD, WRONG = "fake-valid-key-1234", "fake-valid-key-5678", "fake-wrong-key-0000"


def member(workspace, role="viewer", email=None) -> User:
    person = User.objects.create_user(
        email=email or f"{role}@acme.test", password="Correct-Horse-42", current_workspace=workspace
    )
    Membership.objects.create(user=person, workspace=workspace, role=role)
    return person


def save(api, provider, fake, secret=GOOD, **extra):
    return api.post(
        "/api/ai/provider-keys", {"provider": provider, "secret": secret, "baseUrl": fake.base_url, **extra}
    )


def answer(*, workspace, user) -> list[dict]:
    async def run():
        request = ChatRequest(messages=[{"role": "user", "content": "Which segment first?"}])
        return [event async for event in stream_reply(request=request, workspace=workspace, user=user)]

    with clients_per_call():
        return async_to_sync(run)()


@pytest.mark.parametrize("provider", ["gemini", "claude"])
def test_a_key_of_each_hosted_provider_is_checked_with_it_and_lists_its_models(
    provider, request, jwt_api_client, workspace
):
    fake = request.getfixturevalue(provider)

    refused = save(jwt_api_client, provider, fake, secret=WRONG)
    saved = save(jwt_api_client, provider, fake)

    assert refused.status_code == 400 and "refused the key" in refused.json()["message"]
    assert saved.status_code == 201, saved.content
    body = saved.json()
    assert body["scope"] == "workspace" and body["status"] == "active" and body["masked"] == "****1234"
    assert len(body["models"]) == 2 and fake.model in body["models"]
    assert [r["method"] for r in fake.requests] == ["GET", "GET"] and "/models" in fake.requests[-1]["path"]
    assert ProviderKey.objects.get(provider=provider).secret == GOOD


def test_a_model_the_key_cannot_reach_is_refused_before_anything_is_stored(jwt_api_client, gemini, workspace):
    response = save(jwt_api_client, "gemini", gemini, model="gemini-1.0-ultra")

    assert response.status_code == 400 and "gemini-1.0-ultra" in response.json()["errors"]["model"][0]
    assert not ProviderKey.objects.exists()


def test_any_member_may_add_a_personal_key_but_not_a_workspace_key(claude, workspace):
    viewer = api_client_for(member(workspace))

    workspace_key = save(viewer, "claude", claude)
    personal_key = save(viewer, "claude", claude, scope="personal")

    assert workspace_key.status_code == 403
    assert personal_key.status_code == 201 and personal_key.json()["scope"] == "personal"
    key = ProviderKey.objects.get()
    assert key.user.email == "viewer@acme.test" and key.workspace == workspace


def test_personal_keys_are_used_first_and_only_for_their_owner(user, fake, claude, settings, workspace):
    settings.AI_PROVIDERS = ["openai", "claude", "local"]
    settings.ANTHROPIC_API_KEY = ""  # claude only through the member's own key
    viewer = member(workspace)
    assert save(api_client_for(viewer), "claude", claude, scope="personal").status_code == 201

    mine = answer(workspace=workspace, user=viewer)
    theirs = answer(workspace=workspace, user=user)

    assert [p.name for p in providers_for(workspace=workspace, user=viewer)] == ["claude", "openai", "local"]
    assert [p.name for p in providers_for(workspace=workspace, user=user)] == ["openai", "local"]
    assert mine[-1]["provider"] == "claude" and theirs[-1]["provider"] == "openai"
    assert list(ProviderCall.objects.order_by("id").values_list("provider", "user__email")) == [
        ("claude", "viewer@acme.test"),
        ("openai", "owner@acme.test"),
    ]


def test_a_personal_key_beats_the_workspace_key_of_the_same_provider(user, claude, workspace):
    jwt = api_client_for(user)
    assert save(jwt, "claude", claude, secret=OTHER_GOOD).status_code == 201
    assert save(jwt, "claude", claude, scope="personal").status_code == 201

    answer(workspace=workspace, user=user)
    viewer = member(workspace)
    answer(workspace=workspace, user=viewer)

    keys_used = [claude.key_of(r["headers"]) for r in claude.completions]
    assert keys_used == [GOOD, OTHER_GOOD]


def test_saving_again_rotates_the_key_and_a_refused_new_one_keeps_the_old(jwt_api_client, gemini, workspace):
    assert save(jwt_api_client, "gemini", gemini).status_code == 201
    first = ProviderKey.objects.get()

    refused = save(jwt_api_client, "gemini", gemini, secret=WRONG)
    rotated = save(jwt_api_client, "gemini", gemini, secret=OTHER_GOOD)

    assert refused.status_code == 400 and rotated.status_code == 201
    key = ProviderKey.objects.get()
    assert key.id == first.id and key.secret == OTHER_GOOD and rotated.json()["masked"] == "****5678"
    changes = AuditEvent.objects.filter(kind="provider_key_changed").order_by("id")
    actions = list(changes.values_list("detail__action", flat=True))
    assert actions == ["saved", "rotated"]


def test_another_member_s_personal_key_is_neither_listed_nor_deletable(jwt_api_client, claude, workspace):
    viewer = api_client_for(member(workspace))
    assert save(viewer, "claude", claude, scope="personal").status_code == 201

    listed = jwt_api_client.get("/api/ai/provider-keys").json()
    deleted = jwt_api_client.delete("/api/ai/provider-keys/claude?scope=personal")
    own_delete = viewer.delete("/api/ai/provider-keys/claude?scope=personal")

    assert listed == [] and deleted.status_code == 404
    assert own_delete.status_code == 204 and not ProviderKey.objects.exists()


def test_a_key_the_provider_starts_refusing_is_switched_off_and_its_owner_notified(gemini, settings, workspace):
    settings.AI_PROVIDERS = ["gemini", "local"]
    settings.GEMINI_API_KEY = ""
    viewer = member(workspace)
    assert save(api_client_for(viewer), "gemini", gemini, scope="personal").status_code == 201
    gemini.valid_keys = set()  # the provider revoked it

    first = answer(workspace=workspace, user=viewer)
    second = answer(workspace=workspace, user=viewer)

    assert first[-1]["provider"] == "local" and second[-1]["provider"] == "local"
    assert len(gemini.completions) == 1, "a switched-off key is not tried again"
    key = ProviderKey.objects.get()
    assert not key.is_active and key.invalid_at and "refused the key" in key.invalid_reason
    notice = Notification.objects.get()
    assert notice.user == viewer and notice.kind == "provider_key_invalid" and "****1234" in notice.message
    listed = api_client_for(viewer).get("/api/ai/provider-keys").json()
    assert listed[0]["status"] == "invalid" and listed[0]["invalidReason"]


def test_a_refused_workspace_key_notifies_the_owners_and_admins(user, claude, settings, workspace):
    settings.AI_PROVIDERS = ["claude", "local"]
    settings.ANTHROPIC_API_KEY = ""
    admin, viewer = member(workspace, "admin"), member(workspace, "viewer")
    assert save(api_client_for(user), "claude", claude).status_code == 201
    claude.valid_keys = set()

    answer(workspace=workspace, user=viewer)

    assert set(Notification.objects.values_list("user__email", flat=True)) == {user.email, admin.email}
    assert "Acme workspace's" in Notification.objects.first().message


def test_saving_a_working_key_switches_it_back_on(jwt_api_client, claude, settings, workspace):
    assert save(jwt_api_client, "claude", claude).status_code == 201
    ProviderKey.objects.update(is_active=False, invalid_reason="The provider refused the key (HTTP 401).")

    assert save(jwt_api_client, "claude", claude).status_code == 201

    key = ProviderKey.objects.get()
    assert key.is_active and key.invalid_at is None and key.invalid_reason == ""


def test_the_settings_page_offers_members_only_personal_keys(client, claude, workspace):
    viewer = member(workspace)
    client.force_login(viewer)

    page = client.get("/settings/ai/")
    saved = client.post(
        "/settings/ai/keys",
        {"scope": "workspace", "provider": "claude", "secret": GOOD, "base_url": claude.base_url},
    )
    personal = client.post(
        "/settings/ai/keys",
        {"scope": "personal", "provider": "claude", "secret": GOOD, "base_url": claude.base_url},
        HTTP_HX_REQUEST="true",
    )

    text = page.content.decode()
    assert "Your personal keys" in text and 'value="workspace"' not in text
    assert saved.status_code == 403 and not ProviderKey.objects.filter(user__isnull=True).exists()
    assert personal.status_code == 200 and "****1234" in personal.content.decode()
    assert ProviderKey.objects.get().user == viewer
