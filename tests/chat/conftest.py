"""Chat fixtures: the fake model endpoint wired in through settings, and websocket helpers."""

import pytest
from channels.testing import WebsocketCommunicator

from .fake_llm import fake_llm_as_provider


@pytest.fixture(autouse=True)
def _fresh_channel_layer(request, settings):
    """A new channel layer per test: each async test has its own event loop, and the Redis layer binds to one.

    In-process tests use the in-memory layer: cancelling a pending channels_redis receive when a test's loop
    closes can wait forever. The Redis layer is exercised where it matters, across real processes
    (test_multiprocess.py), which run only with REDIS_URL set."""
    from channels.layers import channel_layers

    if request.module.__name__.rsplit(".", 1)[-1] != "test_multiprocess":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
async def _answers_finish_before_the_database_is_reset():
    """Answers run as background tasks (so a reload does not stop them). A test that ends while one is
    still writing must let it finish (or cancel it) in the test's own loop, before the database flush,
    which would otherwise wait on the answer's connection while the answer waits for a loop that has stopped."""
    from ai.providers.kept import kept_clients_close
    from chat.streaming import answers_ended

    yield
    await answers_ended(grace_seconds=5)
    await kept_clients_close()  # the test's loop ends: its provider connections too


@pytest.fixture
def fake_llm(settings):
    """The router's only provider is an OpenAI-compatible endpoint served locally (slow by default)."""
    with fake_llm_as_provider(settings, delay=0.05) as fake:
        yield fake


def ws_communicator(path: str, *, session_key: str = "") -> WebsocketCommunicator:
    from marketing_ai.asgi import application

    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)
