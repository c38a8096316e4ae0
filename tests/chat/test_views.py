"""The chat page, its HTMX actions, rendered messages and exports."""

import json

import pytest
from django.urls import NoReverseMatch, reverse

from chat.models import Conversation, Message
from chat.services import conversation_create, message_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(user):
    conversation = conversation_create(user=user, title="Spring sale")[0]
    message_create(conversation=conversation, content="How do I win back cart abandoners?")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="Send **a reminder** within 24h.\n\n<script>alert('x')</script><img src=x onerror=alert(1)>",
    )
    return conversation


def test_chat_page_requires_login(client):
    response = client.get(reverse("chat:chat"))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_chat_page_lists_only_own_conversations(logged_in_client, conversation, other_workspace_user):
    conversation_create(user=other_workspace_user, title="Globex secrets")
    response = logged_in_client.get(reverse("chat:chat"))
    assert response.status_code == 200
    assert "Spring sale" in response.text and "Globex secrets" not in response.text


def test_conversation_page_shows_the_history_with_markdown_rendered_and_sanitized(logged_in_client, conversation):
    response = logged_in_client.get(reverse("chat:conversation", args=[conversation.id]))
    assert response.status_code == 200
    assert "How do I win back cart abandoners?" in response.text
    assert "<strong>a reminder</strong>" in response.text
    assert "<script>alert" not in response.text and "onerror" not in response.text
    assert f'data-conversation-id="{conversation.id}"' in response.text


def test_opening_a_saved_conversation_shows_its_history_in_the_thread_not_as_toasts(logged_in_client, conversation):
    html = logged_in_client.get(reverse("chat:conversation", args=[conversation.id])).text

    toasts = html.split('id="toasts"', 1)[1].split("</div>", 1)[0]
    assert "cart abandoners" not in toasts and 'class="toast ' not in toasts


def test_someone_elses_conversation_page_is_404(client, conversation, other_workspace_user):
    client.force_login(other_workspace_user)
    assert client.get(reverse("chat:conversation", args=[conversation.id])).status_code == 404
    assert client.post(reverse("chat:conversation-delete", args=[conversation.id])).status_code == 404
    assert Conversation.objects.filter(id=conversation.id).exists()


def test_new_conversation_redirects_to_it(logged_in_client, user):
    response = logged_in_client.post(reverse("chat:conversation-new"), HTTP_HX_REQUEST="true")
    conversation = Conversation.objects.get(user=user)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("chat:conversation", args=[conversation.id])


def test_rename_returns_the_updated_list(logged_in_client, conversation):
    response = logged_in_client.post(
        reverse("chat:conversation-rename", args=[conversation.id]), {"title": "Win-back plan"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'id="conversation-list"' in response.text and "Win-back plan" in response.text
    assert "<html" not in response.text
    assert Conversation.objects.get(id=conversation.id).title == "Win-back plan"


def test_rename_to_blank_is_422_with_the_error(logged_in_client, conversation):
    response = logged_in_client.post(
        reverse("chat:conversation-rename", args=[conversation.id]), {"title": "  "}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422 and "Enter a title." in response.text
    assert Conversation.objects.get(id=conversation.id).title == "Spring sale"


def test_delete_removes_the_conversation_and_goes_back_to_the_chat(logged_in_client, conversation):
    response = logged_in_client.post(reverse("chat:conversation-delete", args=[conversation.id]))
    assert response.status_code == 302 and response["Location"] == reverse("chat:chat")
    assert not Conversation.objects.filter(id=conversation.id).exists()


def test_message_fragment_is_sanitized_html(logged_in_client, conversation):
    reply = conversation.messages.get(role="assistant")
    response = logged_in_client.get(reverse("chat:message", args=[reply.id]))
    assert response.status_code == 200
    assert "<strong>a reminder</strong>" in response.text
    assert "<script" not in response.text and "onerror" not in response.text


def test_message_fragment_of_an_anonymous_conversation_needs_its_token(client):
    conversation, token = conversation_create(title="")
    reply = Message.objects.create(conversation=conversation, role="assistant", content="*hi*")
    url = reverse("chat:message", args=[reply.id])
    assert client.get(url).status_code == 404
    assert "<em>hi</em>" in client.get(url, {"token": token}).text


def test_export_markdown_and_json(logged_in_client, conversation):
    md = logged_in_client.get(reverse("chat:conversation-export", args=[conversation.id, "md"]))
    assert md.status_code == 200 and "attachment" in md["Content-Disposition"]
    assert md.text.startswith("# Spring sale") and "How do I win back cart abandoners?" in md.text
    data = json.loads(logged_in_client.get(reverse("chat:conversation-export", args=[conversation.id, "json"])).content)
    assert data["title"] == "Spring sale"
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
    assert logged_in_client.get(reverse("chat:conversation-export", args=[conversation.id, "pdf"])).status_code == 404


def test_recommendation_cards_render_with_a_create_campaign_action_when_campaigns_offer_it(
    logged_in_client, conversation
):
    payload = {
        "type": "recommendations",
        "recommendations": [
            {
                "id": 7,
                "segment": "cart_abandoners",
                "name": "Cart rescue",
                "objective": "Recover carts",
                "channels": ["email", "sms"],
                "audienceSize": 42,
            }
        ],
    }
    reply = Message.objects.create(
        conversation=conversation, role="assistant", content="Here are...", metadata={"recommendations": payload}
    )
    response = logged_in_client.get(reverse("chat:message", args=[reply.id]))
    assert "Cart rescue" in response.text and "email, sms" in response.text
    try:
        create_url = reverse("campaigns:from-recommendation", args=[7])
    except NoReverseMatch:
        assert "Create campaign" not in response.text
    else:
        assert f'action="{create_url}"' in response.text and "Create campaign" in response.text


def test_landing_page_offers_the_anonymous_chat(client):
    response = client.get("/")
    assert response.status_code == 200
    assert 'id="landing-chat"' in response.text and "chat_landing.js" in response.text


def test_admin_lists_conversations_with_their_messages(client, conversation):
    from accounts.models import User

    admin_user = User.objects.create_superuser(email="ops@acme.test", password="Ops-Password-42")
    client.force_login(admin_user)
    assert client.get("/admin/chat/conversation/").status_code == 200
    page = client.get(f"/admin/chat/conversation/{conversation.id}/change/")
    assert page.status_code == 200 and "How do I win back cart abandoners?" in page.text
