"""Chat fixtures: the fake model endpoint wired in through settings, and websocket helpers."""

import pytest
from channels.testing import WebsocketCommunicator

from marketing_ai.asgi import application

from .fake_llm import FakeLLM


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
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)
