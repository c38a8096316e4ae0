"""Websocket `ws/live/` and the live publisher (marketing_ai/live.py): committed changes reach open pages."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from integrations.services import dummy_data_start
from marketing_ai.live import live_flush, live_publish

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _in_memory_layer(settings):
    """A new in-memory layer per test: each async test has its own event loop."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.LIVE_MIN_INTERVAL_SECONDS = 0.3
    channel_layers.backends.clear()
    yield
    live_flush(timeout=2)
    channel_layers.backends.clear()


@pytest.fixture
def session_key(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _socket(session_key: str = "") -> WebsocketCommunicator:
    from marketing_ai.asgi import application

    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return WebsocketCommunicator(application, "/ws/live/", headers=headers)


async def _connected(session_key: str) -> WebsocketCommunicator:
    communicator = _socket(session_key)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator


async def _frames_until(communicator, done, *, timeout: float = 10) -> list[dict]:
    frames = []
    async with asyncio.timeout(timeout):
        while not done(frames):
            frames.append(await communicator.receive_json_from(timeout=timeout))
    return frames


async def test_an_anonymous_socket_is_closed_with_4401():
    communicator = _socket()
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)


async def test_a_demo_data_job_reaches_an_open_page_as_events_and_job_progress_until_done(session_key, user, workspace):
    communicator = await _connected(session_key)

    job = await database_sync_to_async(dummy_data_start)(workspace=workspace, source_type="gtm", user=user, count=600)

    def finished(frames):
        return any(f["type"] == "job.progress" and f["data"]["status"] == "succeeded" for f in frames)

    frames = await _frames_until(communicator, finished)
    stored = [f for f in frames if f["type"] == "events.stored"]
    progress = [f["data"] for f in frames if f["type"] == "job.progress" and f["data"]["jobId"] == job.id]
    assert stored and sum(f["data"]["count"] for f in stored) > 0
    assert progress[-1]["progress"] == 100 and progress[-1]["eventsCount"] == 600
    await communicator.disconnect()


async def test_a_page_hears_nothing_of_another_workspace(session_key, user, other_workspace_user):
    communicator = await _connected(session_key)
    theirs = other_workspace_user.current_workspace_id

    live_publish(kind="events.stored", workspace_id=theirs, data={"count": 5})
    live_publish(kind="events.stored", workspace_id=user.current_workspace_id, data={"count": 7})

    frame = await communicator.receive_json_from(timeout=5)
    assert frame["data"]["count"] == 7
    await communicator.disconnect()


async def test_a_burst_of_stored_batches_is_coalesced_into_a_few_messages_that_add_up(session_key, user, workspace):
    communicator = await _connected(session_key)

    for _ in range(200):
        live_publish(kind="events.stored", workspace_id=workspace.id, data={"count": 10})

    frames = await _frames_until(communicator, lambda fs: sum(f["data"]["count"] for f in fs) >= 2000)
    assert sum(f["data"]["count"] for f in frames) == 2000
    assert len(frames) <= 3
    await communicator.disconnect()


async def test_a_notification_goes_to_its_recipient_only(session_key, user, workspace):
    communicator = await _connected(session_key)

    live_publish(kind="notification.created", user_id=user.id + 1000, data={"message": "not yours"})
    live_publish(kind="notification.created", user_id=user.id, data={"message": "yours"})

    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["type"], frame["data"]["message"]) == ("notification.created", "yours")
    await communicator.disconnect()


def test_a_write_succeeds_and_publishing_gives_up_quietly_when_redis_is_down(settings, user, workspace):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:9"]}}
    }
    channel_layers.backends.clear()

    with transaction.atomic():
        workspace.name = "Renamed while Redis is down"
        workspace.save(update_fields=["name"])
        live_publish(kind="events.stored", workspace_id=workspace.id, data={"count": 1})

    workspace.refresh_from_db()
    assert workspace.name == "Renamed while Redis is down"
    assert live_flush(timeout=10)
