"""The providers the router knows, their default endpoints and models, and a workspace's provider order."""

from django.conf import settings

KNOWN_PROVIDERS = ("openai", "groq", "local")
KEYED_PROVIDERS = ("openai", "groq")
GROQ_BASE_URL = "https://api.groq.com/openai/v1"
GROQ_MODEL = "llama-3.3-70b-versatile"


def default_base_url(provider: str) -> str:
    return settings.OPENAI_BASE_URL if provider == "openai" else GROQ_BASE_URL


def default_model(provider: str) -> str:
    return settings.OPENAI_MODEL if provider == "openai" else GROQ_MODEL


def provider_order_for(*, workspace=None) -> list[str]:
    """Provider names in the order to try: the workspace override, else settings.AI_PROVIDERS."""
    names = list(settings.AI_PROVIDERS)
    if workspace is not None and getattr(workspace, "ai_providers", ""):
        names = [n.strip() for n in workspace.ai_providers.split(",") if n.strip()]
    seen: list[str] = []
    for name in names:
        if name in KNOWN_PROVIDERS and name not in seen:
            seen.append(name)
    return seen or ["local"]
