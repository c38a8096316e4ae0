"""Chat fixtures: the fake model endpoint wired in through settings, and websocket helpers."""

import pytest
from channels.testing import WebsocketCommunicator

from .fake_llm import FakeLLM


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """A new channel layer per test: each async test has its own event loop, and the Redis layer binds to one."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def fake_llm(settings):
    """The router's only provider is an OpenAI-compatible endpoint served locally (slow by default)."""
    fake = FakeLLM(delay=0.05).start()
    settings.AI_PROVIDERS = ["openai"]
    settings.OPENAI_API_KEY = "sk-test-chat"
    settings.OPENAI_BASE_URL = fake.base_url
    settings.OPENAI_MODEL = "fake-model"
    settings.AI_RETRY_BACKOFF_SECONDS = 0
    yield fake
    fake.stop()


def ws_communicator(path: str, *, session_key: str = "") -> WebsocketCommunicator:
    from marketing_ai.asgi import application

    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)
