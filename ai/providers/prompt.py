"""The prompt every provider sends: one system text (instructions, grounding context, answer format) and the
conversation's turns. Each provider module only shapes them into its own wire format."""

import json

from .base import ChatRequest

DEFAULT_SYSTEM = "You are a digital-marketing analyst. Answer from the workspace's own numbers."


def system_for(request: ChatRequest) -> str:
    """The system prompt with the grounding context as JSON and, when asked for, the JSON answer schema."""
    system = request.system or DEFAULT_SYSTEM
    if request.context:
        system += "\n\nWorkspace context (JSON):\n" + json.dumps(request.context, default=str, sort_keys=True)
    if request.json_schema:
        system += "\n\nAnswer with one JSON object only, matching this JSON schema:\n" + json.dumps(request.json_schema)
    return system


def turns_for(request: ChatRequest) -> list[dict]:
    """The conversation as alternating user/assistant turns starting with the user, as Gemini and Claude require:
    consecutive turns of one role are joined, anything before the first user turn is dropped."""
    turns: list[dict] = []
    for message in request.messages:
        role, content = message.get("role"), message.get("content") or ""
        if role not in ("user", "assistant") or not content or (not turns and role != "user"):
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + content
        else:
            turns.append({"role": role, "content": content})
    return turns or [{"role": "user", "content": "Hello"}]
