"""AI platform fixtures: the fake OpenAI-compatible server (`fake`), and provider clients closed per test."""

import pytest

from .ai_helpers import fake  # noqa: F401 (pytest fixture)


@pytest.fixture(autouse=True)
async def _kept_provider_clients_closed():
    """Provider clients are kept per event loop; each async test has its own loop, which ends with the test."""
    from ai.providers.openai_compat import kept_clients_close

    yield
    await kept_clients_close()
