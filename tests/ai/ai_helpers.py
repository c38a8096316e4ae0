"""Fixtures shared by the AI-provider tests (keys, settings page, intent, router) and the campaigns tests."""

import asyncio

import pytest
from asgiref.sync import async_to_sync

from ai.providers.kept import clients_per_call
from ai.router import stream_reply

from .fake_openai import FakeOpenAI, fake_openai_settings
from .fake_providers import FakeAnthropic, FakeGemini, fake_providers_settings, running


@pytest.fixture
def fake(settings):
    """A running fake OpenAI-compatible server that the openai provider points to (stopped after the test)."""
    with running(FakeOpenAI()) as server:
        fake_openai_settings(settings, server)
        yield server


@pytest.fixture
def gemini(settings):
    """A running fake Gemini API that the gemini provider points to (stopped after the test)."""
    with running(FakeGemini()) as server:
        fake_providers_settings(settings, gemini=server)
        yield server


@pytest.fixture
def claude(settings):
    """A running fake Anthropic API that the claude provider points to (stopped after the test)."""
    with running(FakeAnthropic()) as server:
        fake_providers_settings(settings, claude=server)
        yield server


def stream_then_stop(**kwargs) -> list[dict]:
    """Stream `stream_reply(**kwargs)`, stop it (cancel its consumer, as the chat's stop does) once three events
    arrived; the events received."""

    async def scenario():
        received = []

        async def consume():
            async for event in stream_reply(**kwargs):
                received.append(event)

        task = asyncio.create_task(consume())
        for _ in range(500):
            if len(received) >= 3:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return received

    with clients_per_call():
        return async_to_sync(scenario)()
