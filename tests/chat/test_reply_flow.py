"""The answer flow of `reply_stream` seen through the transports: campaigns, limits, persistence, clean-up."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient
from django.utils import timezone

from ai.models import ProviderCall
from chat.models import Message
from chat.services import conversation_create, message_create, reply_progress_save

from .conftest import ws_communicator
from .test_consumer import receive_until_complete, session_key_for, settled
from .test_sse import ask, bearer, sse_events

pytestmark = pytest.mark.django_db(transaction=True)

CAMPAIGN_QUESTION = "Which campaign should I run for my customer segments?"


async def test_signed_in_campaign_question_without_data_sources_says_connect_one_first(jwt_api_client):
    conversation_id = await sync_to_async(ask)(jwt_api_client, CAMPAIGN_QUESTION)
    response = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(jwt_api_client))
    events = await sse_events(response)

    assert [e["type"] for e in events] == ["intent", "campaign_recommendation", "complete"]
    assert events[0]["data"]["intent"] == "campaign_recommendation"
    assert events[1]["data"]["type"] == "no_data_sources" and events[1]["data"]["message"]
    message = await Message.objects.aget(id=events[-1]["messageId"])
    assert message.status == "complete" and message.metadata["recommendations"] == events[1]["data"]
    assert message.content == events[1]["data"]["message"]


async def test_anonymous_campaign_question_gets_a_plain_answer_not_recommendations(anonymous_api_client):
    created = await sync_to_async(anonymous_api_client.post)(
        "/api/conversations/messages", {"content": CAMPAIGN_QUESTION}, format="json"
    )
    body = created.json()
    response = await AsyncClient().get(
        f"/api/conversations/{body['conversationId']}/stream", headers={"X-Conversation-Token": body["anonymousToken"]}
    )
    kinds = [e["type"] for e in await sse_events(response)]
    assert "campaign_recommendation" not in kinds and "chunk" in kinds


async def test_the_ai_rate_limit_answers_429_before_streaming(jwt_api_client, settings):
    settings.AI_RATE_LIMIT_PER_MINUTE = 1
    # One answer per minute window: of three questions asked within a second, the second is refused, or the third
    # when a window boundary fell between the first two.
    for question in ("first question", "second question", "third question"):
        conversation_id = await sync_to_async(ask)(jwt_api_client, question)
        response = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(jwt_api_client))
        if response.status_code == 429:
            break
        await sse_events(response)
    assert question != "first question"
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert not await Message.objects.filter(conversation_id=conversation_id, role="assistant").aexists()


async def test_progress_is_persisted_while_the_answer_streams(jwt_api_client, fake_llm):
    conversation_id = await sync_to_async(ask)(jwt_api_client, "Tell me about my funnel")
    response = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(jwt_api_client))
    events = await sse_events(response, limit=16)  # intent + 15 chunks: well past the 0.5 s save interval
    message = await Message.objects.aget(id=events[0]["messageId"])
    assert message.status == "streaming"
    assert message.content and "".join(e["content"] for e in events[1:]).startswith(message.content)
    await response.streaming_content.aclose()
    assert (await settled(message.id)).content == fake_llm.text


async def test_stop_before_any_text_leaves_no_empty_assistant_row(user, fake_llm):
    fake_llm.first_delay = 2
    conversation = (await sync_to_async(conversation_create)(user=user, title="x"))[0]
    communicator = ws_communicator(
        f"/ws/chat/{conversation.id}/", session_key=await sync_to_async(session_key_for)(user)
    )
    await communicator.connect()
    await communicator.send_json_to({"type": "message", "content": "Tell me about my funnel"})
    intent = await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"type": "stop"})
    events = await receive_until_complete(communicator)
    await communicator.disconnect()
    assert events[-1]["messageId"] is None and events[-1]["status"] == "stopped"
    assert not await Message.objects.filter(id=intent["messageId"]).aexists()
    assert await Message.objects.filter(conversation=conversation).acount() == 1  # only the question


async def test_a_streaming_row_left_by_a_dead_process_does_not_block_the_conversation(user):
    conversation = (await sync_to_async(conversation_create)(user=user, title="x"))[0]
    await sync_to_async(message_create)(conversation=conversation, content="first")
    stale = await Message.objects.acreate(
        conversation=conversation, role="assistant", content="half an ans", status="streaming"
    )
    await Message.objects.filter(id=stale.id).aupdate(updated_at=timezone.now() - timedelta(minutes=5))
    await sync_to_async(message_create)(conversation=conversation, content="second")
    stale = await Message.objects.aget(id=stale.id)
    assert stale.status == "stopped" and stale.content == "half an ans"


async def test_a_websocket_answer_stores_its_question_answer_and_provider_calls(user, fake_llm):
    conversation = (await sync_to_async(conversation_create)(user=user, title=""))[0]
    communicator = ws_communicator(
        f"/ws/chat/{conversation.id}/", session_key=await sync_to_async(session_key_for)(user)
    )
    await communicator.connect()
    await communicator.send_json_to({"type": "message", "content": "How is my funnel doing this week?"})
    events = await receive_until_complete(communicator)
    await communicator.disconnect()

    rows = [m async for m in Message.objects.filter(conversation=conversation).order_by("id")]
    assert [(m.role, m.status) for m in rows] == [("user", "complete"), ("assistant", "complete")]
    assert rows[1].id == events[-1]["messageId"] and rows[1].content == fake_llm.text
    await conversation.arefresh_from_db()
    assert conversation.title == "How is my funnel doing this week?"
    # The classifier is sure of this question: the answer's call is the only one, written with the final save.
    calls = [c async for c in ProviderCall.objects.order_by("id")]
    assert [(c.purpose, c.status) for c in calls] == [("chat", "ok")]
    assert calls[0].tokens_out == events[-1]["usage"]["tokensOut"] > 0
    assert events[0]["data"]["intent"] == "performance_question"


@pytest.mark.parametrize(
    "question,local_confidence",
    [("Can you help me with my store?", 0.97), ("How is my funnel doing this week?", 1.01)],
    ids=["the-classifier-is-unsure", "the-model-always-asked-first"],
)
async def test_the_model_classifies_the_question_first_when_the_classifier_is_not_sure_enough(
    user, fake_llm, settings, question, local_confidence
):
    settings.INTENT_LOCAL_CONFIDENCE = local_confidence
    conversation = (await sync_to_async(conversation_create)(user=user, title=""))[0]
    communicator = ws_communicator(
        f"/ws/chat/{conversation.id}/", session_key=await sync_to_async(session_key_for)(user)
    )
    await communicator.connect()
    await communicator.send_json_to({"type": "message", "content": question})
    events = await receive_until_complete(communicator)
    await communicator.disconnect()

    calls = [c async for c in ProviderCall.objects.order_by("id")]
    assert [(c.purpose, c.status) for c in calls] == [("intent", "ok"), ("chat", "ok")]
    assert events[-1]["type"] == "complete"


async def test_a_late_progress_save_never_overwrites_a_finished_answer(user):
    conversation = (await sync_to_async(conversation_create)(user=user, title="x"))[0]
    answer = await Message.objects.acreate(
        conversation=conversation, role="assistant", content="The whole answer.", status="complete"
    )
    await sync_to_async(reply_progress_save)(message_id=answer.id, content="The who", intent={})
    answer = await Message.objects.aget(id=answer.id)
    assert answer.content == "The whole answer." and answer.status == "complete"
