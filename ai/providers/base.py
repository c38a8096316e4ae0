"""What every provider implements, and the events the router yields.

Events are plain dicts so transports can relay them unchanged:
- {"type": "chunk", "content": str}
- {"type": "usage", "provider": str, "model": str, "tokensIn": int, "tokensOut": int}
- {"type": "error", "message": str}   (a failure after the first chunk; the router still finishes)
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field


class ProviderError(Exception):
    """A provider call failed. `retryable` marks timeouts, 429 and 5xx: the router may retry or fall back."""

    def __init__(self, message: str, *, retryable: bool = True, status: str = "error"):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


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


@dataclass
class Usage:
    provider: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0


class Provider:
    """A model backend. `stream` yields text pieces and fills `usage` as it goes (also when cancelled)."""

    name: str = ""

    def is_configured(self) -> bool:
        return True

    def stream(self, request: ChatRequest, usage: Usage) -> AsyncIterator[str]:
        raise NotImplementedError
