"""Fixtures shared by the AI-provider tests (keys, settings page, intent, router) and the campaigns tests."""

import pytest

from .fake_openai import FakeOpenAI, fake_openai_settings
from .fake_providers import FakeAnthropic, FakeGemini, fake_providers_settings


@pytest.fixture
def fake(settings):
    """A running fake OpenAI-compatible server that the openai provider points to (stopped after the test)."""
    server = FakeOpenAI().start()
    fake_openai_settings(settings, server)
    yield server
    server.stop()


@pytest.fixture
def gemini(settings):
    """A running fake Gemini API that the gemini provider points to (stopped after the test)."""
    server = FakeGemini().start()
    fake_providers_settings(settings, gemini=server)
    yield server
    server.stop()


@pytest.fixture
def claude(settings):
    """A running fake Anthropic API that the claude provider points to (stopped after the test)."""
    server = FakeAnthropic().start()
    fake_providers_settings(settings, claude=server)
    yield server
    server.stop()
