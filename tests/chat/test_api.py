"""REST API of conversations and messages (DESIGN §4)."""

import pytest

from chat.models import Conversation, Message

pytestmark = pytest.mark.django_db


def test_signed_in_user_creates_a_conversation_in_their_workspace(jwt_api_client, user):
    response = jwt_api_client.post("/api/conversations", {"title": "Q3 planning"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Q3 planning"
    assert "anonymousToken" not in body
    conversation = Conversation.objects.get(id=body["id"])
    assert conversation.user == user and conversation.workspace == user.current_workspace


def test_anonymous_visitor_gets_a_token_that_opens_the_conversation(anonymous_api_client):
    response = anonymous_api_client.post("/api/conversations", {"title": "Hello"}, format="json")
    assert response.status_code == 201
    token = response.json()["anonymousToken"]
    conversation = Conversation.objects.get(id=response.json()["id"])
    assert conversation.user is None and conversation.anonymous_token != token  # only a hash is kept

    opened = anonymous_api_client.get(f"/api/conversations/{conversation.id}", HTTP_X_CONVERSATION_TOKEN=token)
    assert opened.status_code == 200 and opened.json()["title"] == "Hello"
    wrong = anonymous_api_client.get(f"/api/conversations/{conversation.id}", HTTP_X_CONVERSATION_TOKEN="nope")
    assert wrong.status_code == 404


def test_bad_bearer_token_is_401_not_anonymous(anonymous_api_client):
    anonymous_api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    response = anonymous_api_client.post("/api/conversations", {"title": "x"}, format="json")
    assert response.status_code == 401
    assert response.json()["statusCode"] == 401
    assert not Conversation.objects.exists()


def test_list_shows_only_own_conversations_newest_first_paginated(
    jwt_api_client, other_jwt_api_client, django_assert_max_num_queries
):
    for title in ("first", "second", "third"):
        jwt_api_client.post("/api/conversations", {"title": title}, format="json")
    other_jwt_api_client.post("/api/conversations", {"title": "theirs"}, format="json")
    with django_assert_max_num_queries(6):
        response = jwt_api_client.get("/api/conversations?pageSize=2")
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 3
    assert [c["title"] for c in body["results"]] == ["third", "second"]
    assert body["next"]


def test_list_requires_credentials(anonymous_api_client):
    assert anonymous_api_client.get("/api/conversations").status_code == 401


def test_get_returns_the_conversation_with_its_messages(jwt_api_client):
    sent = jwt_api_client.post("/api/conversations/messages", {"content": "How are sales?"}, format="json").json()
    response = jwt_api_client.get(f"/api/conversations/{sent['conversationId']}")
    assert response.status_code == 200
    messages = response.json()["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [("user", "How are sales?")]


def test_rename_and_delete(jwt_api_client):
    conversation_id = jwt_api_client.post("/api/conversations", {"title": "old"}, format="json").json()["id"]
    renamed = jwt_api_client.patch(f"/api/conversations/{conversation_id}", {"title": "new name"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["title"] == "new name"
    assert jwt_api_client.delete(f"/api/conversations/{conversation_id}").status_code == 204
    assert not Conversation.objects.filter(id=conversation_id).exists()


def test_rename_to_empty_title_is_400(jwt_api_client):
    conversation_id = jwt_api_client.post("/api/conversations", {"title": "old"}, format="json").json()["id"]
    response = jwt_api_client.patch(f"/api/conversations/{conversation_id}", {"title": ""}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()["errors"]
    assert Conversation.objects.get(id=conversation_id).title == "old"


def test_other_users_conversation_is_404_for_every_verb(jwt_api_client, other_jwt_api_client):
    conversation_id = jwt_api_client.post("/api/conversations", {"title": "mine"}, format="json").json()["id"]
    assert other_jwt_api_client.get(f"/api/conversations/{conversation_id}").status_code == 404
    assert other_jwt_api_client.patch(f"/api/conversations/{conversation_id}", {"title": "x"}).status_code == 404
    assert other_jwt_api_client.delete(f"/api/conversations/{conversation_id}").status_code == 404
    posted = other_jwt_api_client.post(
        "/api/conversations/messages", {"content": "hi", "conversationId": conversation_id}, format="json"
    )
    assert posted.status_code == 404
    assert Conversation.objects.get(id=conversation_id).title == "mine"
    assert not Message.objects.exists()


def test_message_without_conversation_creates_one_titled_with_first_50_characters(jwt_api_client):
    content = "Which of my customer segments should I target first for the spring sale?"
    response = jwt_api_client.post("/api/conversations/messages", {"content": content}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "user" and body["content"] == content
    assert Conversation.objects.get(id=body["conversationId"]).title == content[:50]


def test_anonymous_message_creates_an_anonymous_conversation_with_token(anonymous_api_client):
    response = anonymous_api_client.post("/api/conversations/messages", {"content": "hi"}, format="json")
    assert response.status_code == 201
    token = response.json()["anonymousToken"]
    again = anonymous_api_client.post(
        "/api/conversations/messages",
        {"content": "again", "conversationId": response.json()["conversationId"]},
        format="json",
        HTTP_X_CONVERSATION_TOKEN=token,
    )
    assert again.status_code == 201
    assert "anonymousToken" not in again.json()


@pytest.mark.parametrize("content", ["", "   ", "x" * 4001])
def test_empty_or_too_long_message_is_400_and_stores_nothing(jwt_api_client, content):
    response = jwt_api_client.post("/api/conversations/messages", {"content": content}, format="json")
    assert response.status_code == 400
    assert "content" in response.json()["errors"]
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_second_message_while_an_answer_streams_is_409(jwt_api_client):
    sent = jwt_api_client.post("/api/conversations/messages", {"content": "first"}, format="json").json()
    Message.objects.create(
        conversation_id=sent["conversationId"], role="assistant", content="partial", status="streaming"
    )
    response = jwt_api_client.post(
        "/api/conversations/messages", {"content": "second", "conversationId": sent["conversationId"]}, format="json"
    )
    assert response.status_code == 409
    assert "still being written" in response.json()["message"]
    assert Message.objects.filter(role="user").count() == 1
