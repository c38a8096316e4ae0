"""The offline provider: deterministic, needs no key or network, grounded in the context it is given."""

import asyncio
import re
from collections.abc import AsyncIterator

from .base import ChatRequest, Provider, Usage, estimate_tokens
from .local_answers import answer_for

CHUNK_WORDS = 4


def _words_in_chunks(text: str, size: int = CHUNK_WORDS) -> list[str]:
    pieces = re.findall(r"\S+\s*", text)
    return ["".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]


class LocalProvider(Provider):
    name = "local"
    model = "local-analyst-1"
    chunk_delay_seconds = 0.0

    def compose(self, request: ChatRequest) -> str:
        """The full answer for a request (the streaming only splits it)."""
        return answer_for(request)

    async def stream(self, request: ChatRequest, usage: Usage) -> AsyncIterator[str]:
        usage.provider, usage.model = self.name, self.model
        usage.tokens_in = sum(estimate_tokens(m.get("content", "")) for m in request.messages) + estimate_tokens(
            request.system
        )
        for piece in _words_in_chunks(self.compose(request)):
            usage.tokens_out += estimate_tokens(piece)
            yield piece
            await asyncio.sleep(self.chunk_delay_seconds)
