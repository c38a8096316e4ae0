"""Providers by name: the class behind each hosted provider, and one built with a key."""

from ai.catalog import default_base_url, default_model

from .base import Provider
from .claude import ClaudeProvider
from .gemini import GeminiProvider
from .local import LocalProvider
from .openai_compat import OpenAICompatibleProvider

PROVIDER_CLASSES: dict[str, type] = {
    "groq": OpenAICompatibleProvider,
    "openai": OpenAICompatibleProvider,
    "gemini": GeminiProvider,
    "claude": ClaudeProvider,
}


def provider_build(name: str, *, api_key: str = "", base_url: str = "", model: str = "", key_id=None) -> Provider:
    """A provider by name with this key, its endpoint and model defaulting to the settings'."""
    if name == "local":
        return LocalProvider()
    return PROVIDER_CLASSES[name](
        name=name,
        api_key=api_key,
        base_url=base_url or default_base_url(name),
        model=model or default_model(name),
        key_id=key_id,
    )
