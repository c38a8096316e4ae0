"""`GET /api/conversations/{id}/stream`: Server-Sent Events read as a client would (DESIGN §6)."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from ai.models import ProviderCall
from chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


async def sse_events(response, *, limit: int | None = None) -> list[dict]:
    """Parse the body into events the way an EventSource does (frames split by a blank line)."""
    events, buffer = [], ""
    async for raw in response.streaming_content:
        buffer += raw.decode() if isinstance(raw, bytes) else raw
        while "\n\n" in buffer:
            frame, buffer = buffer.split("\n\n", 1)
            data = [line[5:].strip() for line in frame.split("\n") if line.startswith("data:")]
            ids = [line[3:].strip() for line in frame.split("\n") if line.startswith("id:")]
            if data:
                event = json.loads("\n".join(data))
                if ids:
                    event["_id"] = int(ids[0])
                events.append(event)
                if limit is not None and len(events) >= limit:
                    return events
    return events


def ask(api, content: str) -> int:
    return api.post("/api/conversations/messages", {"content": content}, format="json").json()["conversationId"]


def bearer(api) -> dict:
    return {"headers": {"Authorization": f"Bearer {api.tokens.access_token}"}}


async def test_stream_sends_intent_then_chunks_then_complete_and_persists_the_text(jwt_api_client):
    conversation_id = await sync_to_async(ask)(jwt_api_client, "How are my sales doing?")
    response = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(jwt_api_client))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"
    events = await sse_events(response)

    kinds = [e["type"] for e in events]
    assert kinds[0] == "intent" and kinds[-1] == "complete"
    assert set(kinds[1:-1]) == {"chunk"} and len(kinds) > 3
    complete = events[-1]
    message = await Message.objects.aget(id=complete["messageId"])
    streamed = "".join(e["content"] for e in events if e["type"] == "chunk")
    assert message.role == "assistant" and message.status == "complete"
    assert message.content == streamed and streamed
    assert complete["usage"]["provider"] == "local" and complete["usage"]["tokensOut"] > 0
    assert events[0]["data"]["intent"] and message.intent == events[0]["data"]


async def test_anonymous_visitor_streams_with_the_conversation_token(anonymous_api_client):
    created = await sync_to_async(anonymous_api_client.post)(
        "/api/conversations/messages", {"content": "What can you do?"}, format="json"
    )
    body = created.json()
    response = await AsyncClient().get(
        f"/api/conversations/{body['conversationId']}/stream?token={body['anonymousToken']}"
    )
    events = await sse_events(response)
    assert events[-1]["type"] == "complete"
    assert "Sign up and connect a data source" in "".join(e.get("content", "") for e in events)


async def test_stream_of_someone_elses_conversation_is_404_and_a_bad_bearer_401(jwt_api_client, other_jwt_api_client):
    conversation_id = await sync_to_async(ask)(jwt_api_client, "mine")
    other = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(other_jwt_api_client))
    assert other.status_code == 404 and other.json()["statusCode"] == 404
    bad = await AsyncClient().get(
        f"/api/conversations/{conversation_id}/stream", headers={"Authorization": "Bearer nope"}
    )
    assert bad.status_code == 401
    anonymous = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream?token=guess")
    assert anonymous.status_code == 404
    assert not await Message.objects.filter(role="assistant").aexists()


async def test_stream_with_nothing_to_answer_is_409(jwt_api_client):
    conversation_id = await sync_to_async(ask)(jwt_api_client, "hello")
    first = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(jwt_api_client))
    await sse_events(first)
    again = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(jwt_api_client))
    assert again.status_code == 409
    assert await Message.objects.filter(role="assistant").acount() == 1


async def test_provider_failure_midway_says_so_and_still_completes_with_the_partial_text(jwt_api_client, fake_llm):
    fake_llm.die_after, fake_llm.delay = 5, 0
    conversation_id = await sync_to_async(ask)(jwt_api_client, "Tell me about my funnel")
    response = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(jwt_api_client))
    events = await sse_events(response)

    kinds = [e["type"] for e in events]
    assert kinds[0] == "intent" and kinds[-1] == "complete" and "error" in kinds
    assert kinds.index("error") > kinds.index("chunk")
    message = await Message.objects.aget(id=events[-1]["messageId"])
    assert message.content == "".join(fake_llm.words[:5])
    assert message.content == "".join(e["content"] for e in events if e["type"] == "chunk")


async def test_provider_failure_midway_with_another_provider_left_keeps_a_notice_and_its_full_answer(
    jwt_api_client, fake_llm, settings
):
    settings.AI_PROVIDERS = ["openai", "local"]
    fake_llm.die_after, fake_llm.delay = 5, 0
    conversation_id = await sync_to_async(ask)(jwt_api_client, "Tell me about my funnel")
    response = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(jwt_api_client))
    events = await sse_events(response)

    assert "error" not in [e["type"] for e in events] and events[-1]["usage"]["provider"] == "local"
    message = await Message.objects.aget(id=events[-1]["messageId"])
    assert message.content == "".join(e["content"] for e in events if e["type"] == "chunk")
    before, notice, after = message.content.partition("broke off")
    assert before.startswith("".join(fake_llm.words[:5])) and notice and after.strip()
    assert message.metadata["notices"] and message.status == "complete"


async def test_provider_failure_before_the_first_chunk_falls_back_without_an_error(jwt_api_client, fake_llm):
    fake_llm.die_after = 0
    conversation_id = await sync_to_async(ask)(jwt_api_client, "Tell me about my funnel")
    response = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(jwt_api_client))
    events = await sse_events(response)
    assert "error" not in [e["type"] for e in events]
    message = await Message.objects.aget(id=events[-1]["messageId"])
    assert message.status == "complete" and message.content
    assert events[-1]["usage"]["provider"] == "fallback"


async def test_a_second_client_resumes_an_answer_in_progress_from_where_it_is(jwt_api_client, fake_llm):
    conversation_id = await sync_to_async(ask)(jwt_api_client, "Tell me about my funnel")
    url = f"/api/conversations/{conversation_id}/stream"
    first = await AsyncClient().get(url, **bearer(jwt_api_client))
    seen = await sse_events(first, limit=4)  # intent + 3 chunks, then this client goes away
    await first.streaming_content.aclose()

    resumed = await AsyncClient().get(url + "?resume=1", **bearer(jwt_api_client))
    events = await sse_events(resumed)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "intent" and kinds[-1] == "complete"
    assert events[0]["messageId"] == seen[0]["messageId"]
    resumed_text = "".join(e["content"] for e in events if e["type"] == "chunk")
    assert resumed_text == fake_llm.text  # the text so far, then the rest: nothing lost, nothing twice
    assert events[1]["content"].startswith("".join(e["content"] for e in seen[1:]))
    message = await Message.objects.aget(id=seen[0]["messageId"])
    assert message.status == "complete" and message.content == fake_llm.text


async def test_last_event_id_resumes_with_only_the_text_not_yet_received(jwt_api_client, fake_llm):
    conversation_id = await sync_to_async(ask)(jwt_api_client, "Tell me about my funnel")
    url = f"/api/conversations/{conversation_id}/stream"
    first = await AsyncClient().get(url, **bearer(jwt_api_client))
    seen = await sse_events(first, limit=3)
    await first.streaming_content.aclose()
    received = "".join(e["content"] for e in seen[1:])
    assert seen[-1]["_id"] == len(received)

    headers = bearer(jwt_api_client)["headers"] | {"Last-Event-ID": str(seen[-1]["_id"])}
    resumed = await AsyncClient().get(url, headers=headers)
    events = await sse_events(resumed)
    assert received + "".join(e["content"] for e in events if e["type"] == "chunk") == fake_llm.text


async def test_usage_of_a_completed_answer_is_logged_by_the_router(jwt_api_client, fake_llm):
    conversation_id = await sync_to_async(ask)(jwt_api_client, "Tell me about my funnel")
    fake_llm.delay = 0
    response = await AsyncClient().get(f"/api/conversations/{conversation_id}/stream", **bearer(jwt_api_client))
    events = await sse_events(response)
    assert events[-1]["usage"]["tokensOut"] == len(fake_llm.words)
    await asyncio.sleep(0)
    assert await ProviderCall.objects.filter(purpose="chat", status="ok").aexists()
