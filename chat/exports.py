"""Conversation exports: Markdown and JSON documents of a whole thread."""

import json

from django.core.serializers.json import DjangoJSONEncoder

from .models import Conversation, Message


def conversation_markdown(*, conversation: Conversation, messages: list[Message]) -> str:
    """The thread as a Markdown document."""
    lines = [f"# {conversation.title or 'Conversation'}", "", f"_Exported conversation {conversation.id}_", ""]
    for message in messages:
        who = "You" if message.role == Message.Role.USER else "Marketing AI"
        stamp = message.created_at.strftime("%Y-%m-%d %H:%M UTC")
        lines += [f"## {who} · {stamp}", "", message.content, ""]
    return "\n".join(lines)


def conversation_json(*, conversation: Conversation, messages: list[Message]) -> str:
    """The thread as JSON, with the same camelCase keys as the API."""
    document = {
        "id": conversation.id,
        "title": conversation.title,
        "createdAt": conversation.created_at,
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "content": m.content,
                "status": m.status,
                "intent": m.intent,
                "metadata": m.metadata,
                "createdAt": m.created_at,
            }
            for m in messages
        ],
    }
    return json.dumps(document, cls=DjangoJSONEncoder, indent=2)
