"""Fixtures shared by the AI-provider tests (keys, settings page, intent, router) and the campaigns tests."""

import pytest

from .fake_openai import FakeOpenAI, fake_openai_settings


@pytest.fixture
def fake(settings):
    """A running fake OpenAI-compatible server that the openai provider points to (stopped after the test)."""
    server = FakeOpenAI().start()
    fake_openai_settings(settings, server)
    yield server
    server.stop()
