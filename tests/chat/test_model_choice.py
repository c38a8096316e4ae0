"""A model picked per message (DESIGN §4 `provider`/`model`): offered from what the member can reach, checked,
carried by the REST message and the websocket message, and stored on the answer with who actually answered."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from ai.models import ProviderKey
from chat.models import Conversation, Message
from chat.services import conversation_create
from tests.ai.ai_helpers import claude, gemini  # noqa: F401 (pytest fixtures: fake Gemini and Anthropic APIs)

from .conftest import ws_communicator
from .test_consumer import receive_until_complete, session_key_for
from .test_sse import bearer, sse_events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hosted(settings, gemini, claude):  # noqa: F811 (fixtures)
    """Gemini through the server's key, Claude not configured, then the offline analyst."""
    settings.AI_PROVIDERS = ["gemini", "claude", "local"]
    settings.ANTHROPIC_API_KEY = ""
    return gemini, claude


def post_message(api, **body):
    return api.post(
        "/api/conversations/messages", {"content": "How is my funnel doing this week?", **body}, format="json"
    )


def test_the_models_offered_are_those_of_reachable_providers(jwt_api_client, hosted):
    choices = jwt_api_client.get("/api/ai/models").json()

    assert [(c["provider"], c["model"]) for c in choices] == [
        ("gemini", "gemini-2.5-flash"),
        ("gemini", "gemini-2.5-flash-lite"),
        ("gemini", "gemini-2.5-pro"),
        ("local", "local-analyst-1"),
    ]
    assert choices[0]["isDefault"] and choices[0]["providerLabel"] == "Google Gemini"


def test_a_personal_key_adds_its_provider_with_the_models_the_key_reaches(jwt_api_client, hosted, user, workspace):
    _gemini, claude_fake = hosted
    saved = jwt_api_client.post(
        "/api/ai/provider-keys",
        {"provider": "claude", "secret": "fake-valid-key-1234", "baseUrl": claude_fake.base_url, "scope": "personal"},
    )
    assert saved.status_code == 201

    choices = jwt_api_client.get("/api/ai/models").json()

    claude_models = [c["model"] for c in choices if c["provider"] == "claude"]
    assert choices[0]["provider"] == "claude" and choices[0]["personal"]
    assert claude_models == ["claude-haiku-4-5", "claude-sonnet-4-5"], "only models the key's list holds"


async def test_the_chosen_model_answers_and_is_stored_on_the_answer(jwt_api_client, hosted):
    gemini_fake, _claude = hosted
    created = await sync_to_async(post_message)(jwt_api_client, provider="gemini", model="gemini-2.5-pro")
    assert created.status_code == 201, created.content
    assert created.json()["metadata"]["requested"] == {"provider": "gemini", "model": "gemini-2.5-pro"}

    response = await AsyncClient().get(
        f"/api/conversations/{created.json()['conversationId']}/stream", **bearer(jwt_api_client)
    )
    events = await sse_events(response)

    assert events[-1]["usage"]["provider"] == "gemini", events
    assert events[-1]["usage"]["model"] == "gemini-2.5-pro"
    assert gemini_fake.completions[-1]["path"].split("/models/")[1].startswith("gemini-2.5-pro:")
    answer = await Message.objects.aget(id=events[-1]["messageId"])
    assert answer.metadata["usage"]["model"] == "gemini-2.5-pro"
    assert answer.metadata["requested"] == {"provider": "gemini", "model": "gemini-2.5-pro"}


async def test_when_the_chosen_model_fails_the_answer_says_who_answered_instead(jwt_api_client, hosted, client, user):
    gemini_fake, _claude = hosted
    gemini_fake.behaviours.extend(["500"] * 4)  # intent and answer, each retried once
    created = await sync_to_async(post_message)(jwt_api_client, provider="gemini", model="gemini-2.5-pro")

    response = await AsyncClient().get(
        f"/api/conversations/{created.json()['conversationId']}/stream", **bearer(jwt_api_client)
    )
    events = await sse_events(response)
    await sync_to_async(client.force_login)(user)
    fragment = await sync_to_async(client.get)(f"/chat/messages/{events[-1]['messageId']}/")

    assert events[-1]["usage"]["provider"] == "local"
    html = fragment.content.decode()
    assert "Offline analyst · local-analyst-1" in html and "asked for gemini-2.5-pro" in html


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"provider": "mistral", "model": "large"}, "provider", "Unknown provider mistral"),
        ({"provider": "claude", "model": "claude-haiku-4-5"}, "provider", "no key is set up"),
        ({"provider": "gemini", "model": "gemini-0-nano"}, "model", "does not offer the model gemini-0-nano"),
        ({"model": "gpt-9"}, "model", "No provider you can use offers the model gpt-9"),
    ],
)
def test_a_model_that_cannot_be_used_is_a_400_that_stores_nothing(jwt_api_client, hosted, body, field, says):
    response = post_message(jwt_api_client, **body)

    assert response.status_code == 400
    assert says in response.json()["errors"][field][0]
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_a_model_alone_finds_its_provider(jwt_api_client, hosted):
    response = post_message(jwt_api_client, model="gemini-2.5-flash-lite")

    assert response.status_code == 201
    assert response.json()["metadata"]["requested"] == {"provider": "gemini", "model": "gemini-2.5-flash-lite"}


async def test_the_websocket_message_carries_the_choice_and_refuses_an_unusable_one(user, hosted):
    gemini_fake, _claude = hosted
    conversation = (await sync_to_async(conversation_create)(user=user, title=""))[0]
    communicator = ws_communicator(
        f"/ws/chat/{conversation.id}/", session_key=await sync_to_async(session_key_for)(user)
    )
    await communicator.connect()

    await communicator.send_json_to({"type": "message", "content": "Hi", "provider": "claude", "model": "x"})
    refused = await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to(
        {
            "type": "message",
            "content": "How is my funnel doing?",
            "provider": "gemini",
            "model": "gemini-2.5-flash-lite",
        }
    )
    events = await receive_until_complete(communicator)
    await communicator.disconnect()

    assert refused["type"] == "error" and "no key is set up" in refused["message"]
    assert events[-1]["usage"]["model"] == "gemini-2.5-flash-lite"
    rows = [m async for m in Message.objects.filter(conversation=conversation).order_by("id")]
    assert [m.content for m in rows if m.role == "user"] == ["How is my funnel doing?"], (
        "the refused question left nothing"
    )
    assert rows[-1].metadata["requested"]["model"] == "gemini-2.5-flash-lite"


def test_the_chat_page_offers_the_models_in_the_composer(logged_in_client, hosted, workspace, user):
    conversation = conversation_create(user=user, title="Plans")[0]
    ProviderKey.objects.all().delete()

    html = logged_in_client.get(f"/chat/{conversation.id}/").content.decode()

    assert 'id="chat-model"' in html and 'data-model="gemini-2.5-pro"' in html
    assert 'optgroup label="Google Gemini"' in html and 'data-model="claude-haiku-4-5"' not in html
