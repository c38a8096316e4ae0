"""Websocket `ws/chat/<conversationId>/` with Channels' communicator (DESIGN §6)."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from ai.models import ProviderCall
from chat.models import Conversation, Message
from chat.services import conversation_create

from .conftest import ws_communicator

pytestmark = pytest.mark.django_db(transaction=True)


def session_key_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def receive_until_complete(communicator, *, timeout: float = 10) -> list[dict]:
    events = []
    while True:
        event = await communicator.receive_json_from(timeout=timeout)
        events.append(event)
        if event["type"] == "complete":
            return events


async def settled(message_id: int, *, timeout: float = 10) -> Message | None:
    """The message once its producer finished (or None when it was deleted)."""
    for _ in range(int(timeout / 0.05)):
        message = await Message.objects.filter(id=message_id).afirst()
        if message is None or message.status != "streaming":
            return message
        await asyncio.sleep(0.05)
    raise AssertionError("the answer is still streaming")


async def answer_started_then_left(conversation, session_key, *, frames: int) -> list[dict]:
    """Ask for an answer on one socket, read its first `frames` events, and leave while it is still written."""
    first = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=session_key)
    await first.connect()
    await first.send_json_to({"type": "message", "content": "Tell me everything"})
    seen = [await first.receive_json_from(timeout=5) for _ in range(frames)]
    await first.disconnect()
    return seen


def text_of(events) -> str:
    return "".join(e["content"] for e in events if e["type"] == "chunk")


@pytest.fixture
def conversation(user):
    return conversation_create(user=user, title="Chat")[0]


@pytest.fixture
def session_key(user):
    return session_key_for(user)


async def test_browser_session_streams_an_answer_and_the_row_holds_the_streamed_text(conversation, session_key):
    communicator = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=session_key)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "message", "content": "How are my sales?"})
    events = await receive_until_complete(communicator)
    await communicator.disconnect()

    kinds = [e["type"] for e in events]
    assert kinds[0] == "intent" and kinds[-1] == "complete" and set(kinds[1:-1]) == {"chunk"}
    message = await Message.objects.aget(id=events[-1]["messageId"])
    assert message.conversation_id == conversation.id and message.status == "complete"
    assert message.content == text_of(events)
    assert await Message.objects.filter(conversation=conversation, role="user").acount() == 1


async def test_api_client_authenticates_with_a_jwt_in_the_query_string(conversation, jwt_api_client):
    communicator = ws_communicator(f"/ws/chat/{conversation.id}/?token={jwt_api_client.tokens.access_token}")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "message", "content": "hello"})
    events = await receive_until_complete(communicator)
    await communicator.disconnect()
    assert events[-1]["status"] == "complete"


async def test_bad_token_closes_with_4401_even_with_a_session(conversation, session_key):
    for session in ("", session_key):
        communicator = ws_communicator(f"/ws/chat/{conversation.id}/?token=not.a.jwt", session_key=session)
        connected, code = await communicator.connect()
        assert not connected and code == 4401
        await communicator.disconnect()


async def test_someone_elses_conversation_closes_with_4404(conversation, other_workspace_user):
    other_session = await sync_to_async(session_key_for)(other_workspace_user)
    communicator = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=other_session)
    connected, code = await communicator.connect()
    assert not connected and code == 4404
    await communicator.disconnect()
    anonymous = ws_communicator(f"/ws/chat/{conversation.id}/")
    connected, code = await anonymous.connect()
    assert not connected and code == 4404
    await anonymous.disconnect()


async def test_anonymous_visitor_chats_with_the_conversation_token(db):
    conversation, token = await sync_to_async(conversation_create)(title="")
    communicator = ws_communicator(f"/ws/chat/{conversation.id}/?token={token}")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "message", "content": "What do you do?"})
    events = await receive_until_complete(communicator)
    await communicator.disconnect()
    assert "Sign up" in text_of(events)
    assert (await Conversation.objects.aget(id=conversation.id)).title == "What do you do?"


async def test_two_users_streaming_at_once_each_get_only_their_own_answer(
    conversation, session_key, other_workspace_user
):
    theirs = await sync_to_async(conversation_create)(user=other_workspace_user, title="Theirs")
    other_session = await sync_to_async(session_key_for)(other_workspace_user)
    mine_ws = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=session_key)
    theirs_ws = ws_communicator(f"/ws/chat/{theirs[0].id}/", session_key=other_session)
    assert (await mine_ws.connect())[0] and (await theirs_ws.connect())[0]
    await mine_ws.send_json_to({"type": "message", "content": "mine"})
    await theirs_ws.send_json_to({"type": "message", "content": "theirs"})
    mine_events, their_events = await asyncio.gather(receive_until_complete(mine_ws), receive_until_complete(theirs_ws))
    extra = [await ws.receive_output() for ws in (mine_ws, theirs_ws) if not await ws.receive_nothing(timeout=0.3)]
    assert not extra
    await mine_ws.disconnect()
    await theirs_ws.disconnect()
    mine = await Message.objects.aget(id=mine_events[-1]["messageId"])
    their = await Message.objects.aget(id=their_events[-1]["messageId"])
    assert mine.conversation_id == conversation.id and their.conversation_id == theirs[0].id
    assert mine.content == text_of(mine_events) and their.content == text_of(their_events)


async def test_stop_aborts_the_provider_call_and_keeps_the_partial_answer_with_usage(
    conversation, session_key, fake_llm
):
    communicator = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=session_key)
    await communicator.connect()
    await communicator.send_json_to({"type": "message", "content": "Tell me everything"})
    events = [await communicator.receive_json_from(timeout=5) for _ in range(4)]  # intent + 3 chunks
    await communicator.send_json_to({"type": "stop"})
    events += await receive_until_complete(communicator)
    await communicator.disconnect()

    assert events[-1]["status"] == "stopped"
    message = await Message.objects.aget(id=events[0]["messageId"])
    assert message.status == "stopped"
    assert message.content == text_of(events) and 0 < len(message.content) < len(fake_llm.text)
    assert message.metadata["usage"]["tokensOut"] > 0
    assert await sync_to_async(fake_llm.hung_up.wait)(5), "the upstream HTTP stream was not closed"
    call = await ProviderCall.objects.filter(purpose="chat").alatest("created_at")
    assert call.status == "cancelled" and call.tokens_out > 0


async def test_disconnect_mid_stream_keeps_the_answer(conversation, session_key, fake_llm):
    events = await answer_started_then_left(conversation, session_key, frames=4)

    message = await settled(events[0]["messageId"])
    # The producer is detached from the socket: the answer is finished and kept for the next visit.
    assert message.content.startswith(text_of(events)) and message.content == fake_llm.text
    assert message.status == "complete"


async def test_reconnecting_during_an_answer_resumes_it_where_it_is(conversation, session_key, fake_llm):
    seen = await answer_started_then_left(conversation, session_key, frames=4)

    second = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=session_key)
    assert (await second.connect())[0]
    events = await receive_until_complete(second)
    await second.disconnect()
    assert events[0] == seen[0]  # the same intent frame, naming the same message
    assert events[1]["type"] == "chunk" and events[1]["content"].startswith(text_of(seen))
    assert text_of(events) == fake_llm.text
    assert (await Message.objects.aget(id=seen[0]["messageId"])).content == fake_llm.text


async def test_stop_from_a_resumed_socket_stops_the_answer(conversation, session_key, fake_llm):
    seen = await answer_started_then_left(conversation, session_key, frames=3)
    second = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=session_key)
    await second.connect()
    await second.receive_json_from(timeout=5)  # intent
    await second.send_json_to({"type": "stop"})
    events = await receive_until_complete(second)
    await second.disconnect()
    assert events[-1]["status"] == "stopped"
    message = await settled(seen[0]["messageId"])
    assert message.status == "stopped" and len(message.content) < len(fake_llm.text)


async def test_a_second_message_while_streaming_is_refused_with_an_error_frame(conversation, session_key, fake_llm):
    communicator = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=session_key)
    await communicator.connect()
    await communicator.send_json_to({"type": "message", "content": "first"})
    await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"type": "message", "content": "second"})
    events = await receive_until_complete(communicator)
    await communicator.disconnect()
    errors = [e for e in events if e["type"] == "error"]
    assert errors and "still being written" in errors[0]["message"]
    assert [m.content async for m in Message.objects.filter(role="user")] == ["first"]


async def test_two_tabs_asking_at_the_same_moment_get_one_answer_and_one_refusal(conversation, session_key, fake_llm):
    tabs = [ws_communicator(f"/ws/chat/{conversation.id}/", session_key=session_key) for _ in range(2)]
    for tab in tabs:
        assert (await tab.connect())[0]
    await asyncio.gather(*(tab.send_json_to({"type": "message", "content": f"tab {n}"}) for n, tab in enumerate(tabs)))
    first_frames = [await tab.receive_json_from(timeout=10) for tab in tabs]
    refused = [frame for frame in first_frames if frame["type"] == "error"]
    assert len(refused) == 1 and "still being written" in refused[0]["message"]
    answering = tabs[[frame["type"] for frame in first_frames].index("intent")]
    events = await receive_until_complete(answering)
    for tab in tabs:
        await tab.disconnect()
    assert events[-1]["status"] == "complete"
    assert await Message.objects.filter(conversation=conversation, role="user").acount() == 1
    assert await Message.objects.filter(conversation=conversation, role="assistant").acount() == 1


async def test_empty_message_gets_an_error_frame_and_no_row(conversation, session_key):
    communicator = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=session_key)
    await communicator.connect()
    await communicator.send_json_to({"type": "message", "content": "   "})
    event = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    assert event == {"type": "error", "message": "Enter a message."}
    assert not await Message.objects.aexists()


async def test_with_the_channel_layer_down_a_resumed_answer_says_so_and_still_arrives(
    conversation, session_key, fake_llm, settings
):
    from channels.layers import channel_layers

    from tests.conftest import _dead_redis_url

    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [_dead_redis_url()]}}
    }
    channel_layers.backends.clear()
    seen = await answer_started_then_left(conversation, session_key, frames=3)

    second = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=session_key)
    assert (await second.connect())[0]
    events = await receive_until_complete(second, timeout=30)
    await second.disconnect()

    assert events[0] == {
        "type": "error",
        "message": "Live updates are unavailable right now, so this answer is shown as it is saved, not word by word.",
    }
    assert events[1]["type"] == "intent" and events[1]["messageId"] == seen[0]["messageId"]
    assert events[-1]["type"] == "complete" and events[-1]["status"] == "complete"
    assert text_of(events) == fake_llm.text
