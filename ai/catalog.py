"""The providers the router knows, their default endpoints and models, and a workspace's provider order."""

from django.conf import settings

# The seed's order (DESIGN §7), then the offline analyst.
KNOWN_PROVIDERS = ("groq", "openai", "gemini", "claude", "local")
KEYED_PROVIDERS = ("groq", "openai", "gemini", "claude")
LABELS = {
    "groq": "Groq",
    "openai": "OpenAI",
    "gemini": "Google Gemini",
    "claude": "Anthropic Claude",
    "local": "Offline analyst",
}
LOCAL_MODEL = "local-analyst-1"
# Chat models offered per provider (besides the configured default and a key's own model).
CHAT_MODELS = {
    "groq": ("llama-3.3-70b-versatile", "llama-3.1-8b-instant"),
    "openai": ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", "gpt-5-mini", "gpt-5"),
    "gemini": ("gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro"),
    "claude": ("claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1"),
    "local": (LOCAL_MODEL,),
}
_SETTINGS_PREFIX = {"groq": "GROQ", "openai": "OPENAI", "gemini": "GEMINI", "claude": "ANTHROPIC"}


def _setting(provider: str, suffix: str) -> str:
    prefix = _SETTINGS_PREFIX.get(provider)
    return str(getattr(settings, f"{prefix}_{suffix}", "") or "") if prefix else ""


def default_base_url(provider: str) -> str:
    """The provider's endpoint from settings (`<PROVIDER>_BASE_URL`)."""
    return _setting(provider, "BASE_URL")


def default_model(provider: str) -> str:
    """The provider's model from settings (`<PROVIDER>_MODEL`)."""
    return LOCAL_MODEL if provider == "local" else _setting(provider, "MODEL")


def settings_api_key(provider: str) -> str:
    """The server's own key for the provider (`<PROVIDER>_API_KEY`), or ""."""
    return _setting(provider, "API_KEY")


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
