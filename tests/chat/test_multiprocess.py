"""Two web processes on the Redis channel layer: a client of the second joins an answer the first produces.

Runs with DATABASE_URL (PostgreSQL, shared by both processes) and REDIS_URL set; skipped on the embedded default.
"""

import asyncio
import json
import os

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings

from accounts.services import login_session_open
from chat.models import Message
from chat.services import conversation_create
from tests.servers import database_url, free_port, process_serving

from .conftest import ws_communicator
from .test_consumer import receive_until_complete, session_key_for, settled, text_of

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (django_settings.REDIS_URL and django_settings.DATABASE_IS_POSTGRES),
        reason="needs PostgreSQL and Redis shared by two processes",
    ),
]


@pytest.fixture
def second_process(fake_llm, settings):
    """Another web process (uvicorn) on the same test database and Redis."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings),
        "REDIS_URL": settings.REDIS_URL,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "AI_PROVIDERS": "openai",
        "OPENAI_API_KEY": "sk-test-chat",
        "OPENAI_BASE_URL": fake_llm.base_url,
    }
    command = ["-m", "uvicorn", "marketing_ai.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    process = process_serving(
        [*command, "--log-level", "warning", "--lifespan", "off"], port=port, env=env, what="the second web process"
    )
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


async def _start_answer(user):
    conversation = (await sync_to_async(conversation_create)(user=user, title="x"))[0]
    producer = ws_communicator(f"/ws/chat/{conversation.id}/", session_key=await sync_to_async(session_key_for)(user))
    await producer.connect()
    await producer.send_json_to({"type": "message", "content": "Tell me about my funnel"})
    seen = [await producer.receive_json_from(timeout=10) for _ in range(4)]
    _, tokens = await sync_to_async(login_session_open)(user=user, ip="127.0.0.1", user_agent="pytest")
    return conversation, producer, seen, tokens.access_token


async def _recv_until_complete(ws) -> list[dict]:
    events = []
    while True:
        events.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=15)))
        if events[-1]["type"] == "complete":
            return events


async def test_a_client_of_another_process_resumes_the_answer_where_it_is(user, fake_llm, second_process):
    from websockets.asyncio.client import connect

    conversation, producer, seen, token = await _start_answer(user)
    url = f"ws://{second_process}/ws/chat/{conversation.id}/?token={token}"
    async with connect(url, origin=f"http://{second_process}") as ws:
        events = await _recv_until_complete(ws)
    await receive_until_complete(producer)
    await producer.disconnect()

    assert events[0]["type"] == "intent" and events[0]["messageId"] == seen[0]["messageId"]
    assert events[1]["content"].startswith(text_of(seen))
    assert text_of(events) == fake_llm.text and events[-1]["status"] == "complete"


async def test_stop_sent_to_another_process_stops_the_producer(user, fake_llm, second_process):
    from websockets.asyncio.client import connect

    fake_llm.delay = 0.3  # a long answer: the stop arrives well before its end
    conversation, producer, seen, token = await _start_answer(user)
    url = f"ws://{second_process}/ws/chat/{conversation.id}/?token={token}"
    async with connect(url, origin=f"http://{second_process}") as ws:
        json.loads(await asyncio.wait_for(ws.recv(), timeout=15))  # intent
        await ws.send(json.dumps({"type": "stop"}))
        events = await _recv_until_complete(ws)
    mine = await receive_until_complete(producer)
    await producer.disconnect()

    assert events[-1]["status"] == "stopped" and mine[-1]["status"] == "stopped"
    message = await settled(seen[0]["messageId"])
    assert message.status == Message.Status.STOPPED and len(message.content) < len(fake_llm.text)
