"""What every provider implements, and the events the router yields.

Events are plain dicts so transports can relay them unchanged:
- {"type": "chunk", "content": str}
- {"type": "notice", "message": str, "provider": str, "next": str}   (a provider failed mid-answer; the next one
  answers again from the start)
- {"type": "usage", "provider": str, "model": str, "tokensIn": int, "tokensOut": int}
- {"type": "error", "message": str}   (a failure after the first chunk with nothing left to fall back to)
"""

import email.utils
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field


class ProviderError(Exception):
    """A provider call failed. `retryable` marks timeouts, 429 and 5xx: the router may retry or fall back.

    `retry_after` is the provider's own Retry-After (seconds) when it sent one; `key_refused` marks a key the
    provider refused (401/403, Google's API_KEY_INVALID): retrying cannot help, and the key's owner should know.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        status: str = "error",
        retry_after: float | None = None,
        key_refused: bool = False,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.key_refused = key_refused


def retry_after_seconds(headers: Mapping | None) -> float | None:
    """The Retry-After header (delta-seconds or an HTTP date) in seconds, or None when absent or unreadable."""
    value = (headers or {}).get("retry-after") or (headers or {}).get("Retry-After")
    if not value:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def http_status_error(code: int, *, headers: Mapping | None = None, key_refused: bool = False) -> ProviderError:
    """The ProviderError for an HTTP error answer, its message safe to show and log (never the provider's body)."""
    if code == 429:
        return ProviderError(
            "The provider is rate limiting requests (429).",
            status="rate_limited",
            retry_after=retry_after_seconds(headers),
        )
    if code >= 500:
        return ProviderError(f"The provider failed with HTTP {code}.", retry_after=retry_after_seconds(headers))
    if key_refused or code in (401, 403):
        return ProviderError(f"The provider refused the key (HTTP {code}).", retryable=False, key_refused=True)
    return ProviderError(f"The provider rejected the request (HTTP {code}).", retryable=False)


TIMEOUT_ERROR_MESSAGE = "The provider did not answer in time."
CONNECTION_ERROR_MESSAGE = "The provider connection broke."


@dataclass
class ChatRequest:
    """One model call: chat messages ({role, content}), the system prompt and a grounding context.

    `intent` is the question's classified intent when the caller has it (the chat does): the offline
    provider answers from it instead of classifying the question again.
    """

    messages: list[dict]
    system: str = ""
    context: dict = field(default_factory=dict)
    intent: dict | None = None
    purpose: str = "chat"
    max_tokens: int = 800
    temperature: float = 0.4
    json_schema: dict | None = None


def estimate_tokens(text: str) -> int:
    """Tokens in a text by estimate: what a provider counts before (or without) the model's own count."""
    return estimate_tokens_for_length(len(text))


def estimate_tokens_for_length(characters: int) -> int:
    # Roughly 4 characters per token for English text, the usual rule of thumb.
    return max(1, characters // 4) if characters else 0


@dataclass
class Usage:
    provider: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0


class Provider:
    """A model backend. `stream` yields text pieces and fills `usage` as it goes (also when cancelled).

    `key_id` is the stored ProviderKey the provider runs with (None: the server's settings key), so that a key
    the provider refuses can be marked invalid.
    """

    name: str = ""
    model: str = ""
    key_id: int | None = None

    def is_configured(self) -> bool:
        return True

    def stream(self, request: ChatRequest, usage: Usage) -> AsyncIterator[str]:
        raise NotImplementedError

    async def models_available(self) -> list[str]:
        """The model ids the key may use: the real call that validates a key (ProviderError when refused)."""
        return [self.model] if self.model else []


class KeyedProvider(Provider):
    """A hosted model reached with an API key at a base URL (every provider but `local`)."""

    def __init__(self, *, api_key: str, base_url: str, model: str, name: str | None = None, key_id: int | None = None):
        self.api_key, self.base_url, self.model, self.key_id = api_key, base_url, model, key_id
        if name:
            self.name = name

    def is_configured(self) -> bool:
        return bool(self.api_key)
