"""The stream process of the recipe (`python -m marketing_ai.serve`, Procfile `stream:`), in a process of its own:
it serves the chat's websocket, takes the client's address from a trusted proxy, and on SIGTERM closes its
sockets as a restart and lets the answers it is writing end with their text saved.

Runs with DATABASE_URL (PostgreSQL, shared with the server process); skipped on the embedded default.
"""

import asyncio
import json
import os
import signal

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings

from accounts.services import login_session_open
from chat.models import Message
from chat.services import conversation_create
from tests.servers import database_url, free_port, process_serving

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not django_settings.DATABASE_IS_POSTGRES, reason="the server process needs a shared database"),
]

CLOSE_SERVICE_RESTART = 1012


@pytest.fixture
def stream_process(fake_llm, settings):
    """`python -m marketing_ai.serve --proxy-headers` on the test database, answering through the fake model."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "AI_PROVIDERS": "openai",
        "OPENAI_API_KEY": "sk-test-chat",
        "OPENAI_BASE_URL": fake_llm.base_url,
        "AI_RETRY_BACKOFF_SECONDS": "0",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    env.pop("REDIS_URL", None)  # one process: the in-memory channel layer
    command = ["-m", "marketing_ai.serve", "-b", "127.0.0.1", "-p", str(port), "--proxy-headers"]
    process = process_serving(
        [*command, "marketing_ai.asgi:application"], port=port, env=env, what="the stream process"
    )
    yield process, f"127.0.0.1:{port}"
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


async def test_sigterm_closes_the_sockets_as_a_restart_and_the_running_answer_ends_saved(
    user, fake_llm, stream_process
):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    process, address = stream_process
    fake_llm.delay = 0.15  # ~3 s of answer: the signal arrives in the middle of it
    conversation = (await sync_to_async(conversation_create)(user=user, title="x"))[0]
    _, tokens = await sync_to_async(login_session_open)(user=user, ip="127.0.0.1", user_agent="pytest")
    url = f"ws://{address}/ws/chat/{conversation.id}/?token={tokens.access_token}"
    events = []
    async with connect(url, origin=f"http://{address}") as ws:
        await ws.send(json.dumps({"type": "message", "content": "Tell me about my funnel"}))
        while sum(event["type"] == "chunk" for event in events) < 3:
            events.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=15)))
        process.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                events.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=15)))
    exit_code = await asyncio.to_thread(process.wait, 30)
    message = await Message.objects.aget(id=events[0]["messageId"])

    assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_SERVICE_RESTART
    assert exit_code is not None
    assert events[0]["type"] == "intent" and all(event["type"] == "chunk" for event in events[1:])
    # The answer went on without its socket and was saved whole before the process ended.
    assert (message.status, message.content) == (Message.Status.COMPLETE, fake_llm.text)


def test_the_client_address_behind_a_trusted_proxy_is_the_forwarded_one(argon2_hashing, user, password, stream_process):
    # argon2_hashing: the server process checks the password with the production hashers.
    _, address = stream_process
    with httpx.Client(base_url=f"http://{address}", headers={"X-Forwarded-For": "10.0.0.1, 203.0.113.9"}) as client:
        login = client.post("/api/auth/login", json={"email": user.email, "password": password})
        bearer = {"Authorization": f"Bearer {login.json()['tokens']['accessToken']}"}
        sessions = client.get("/api/auth/sessions", headers=bearer).json()["results"]

    assert [row["ipAddress"] for row in sessions if row["current"]] == ["203.0.113.9"]
