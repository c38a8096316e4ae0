"""AI platform fixtures: the fake OpenAI-compatible server (`fake`), and provider clients closed per test."""

import pytest

from .ai_helpers import claude, fake, gemini  # noqa: F401 (pytest fixtures)


@pytest.fixture(autouse=True)
async def _kept_provider_clients_closed():
    """Provider clients are kept per event loop; each async test has its own loop, which ends with the test."""
    from ai.providers.kept import kept_clients_close

    yield
    await kept_clients_close()
