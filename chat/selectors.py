"""Reads for the chat: conversations visible to a user (or to the holder of an anonymous token)."""

import hashlib
import hmac
from datetime import timedelta

from django.db.models import Max, QuerySet
from django.utils import timezone

from marketing_ai.db import rows_fetched
from marketing_ai.errors import NotFound

from .models import Conversation, Message

# A streaming row not touched for this long belongs to a producer that died (its process was killed).
STREAM_STALE_AFTER = timedelta(seconds=60)


def anonymous_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _is_signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def conversation_get_for_user(*, user, conversation_id, anonymous_token: str = "") -> Conversation:
    """The user's own conversation, or an anonymous one whose token is presented; NotFound otherwise."""
    try:
        conversation = Conversation.objects.select_related("user", "workspace").get(id=int(conversation_id))
    except (Conversation.DoesNotExist, TypeError, ValueError):
        raise NotFound("Conversation not found.") from None
    if _is_signed_in(user) and conversation.user_id == user.id:
        return conversation
    if (
        conversation.user_id is None
        and anonymous_token
        and conversation.anonymous_token
        and hmac.compare_digest(conversation.anonymous_token, anonymous_token_hash(anonymous_token))
    ):
        return conversation
    raise NotFound("Conversation not found.")


def conversation_list_for_user(*, user) -> QuerySet[Conversation]:
    """The user's conversations, most recently active first."""
    return (
        Conversation.objects.filter(user=user)
        .annotate(last_message_at=Max("messages__created_at"))
        .order_by("-updated_at", "-id")
    )


def message_list_for_conversation(*, conversation: Conversation) -> QuerySet[Message]:
    return Message.objects.filter(conversation=conversation).order_by("created_at", "id")


def message_get_for_user(*, user, message_id, anonymous_token: str = "") -> Message:
    """One message of a conversation the caller may see; NotFound otherwise."""
    try:
        message = Message.objects.select_related("conversation").get(id=int(message_id))
    except (Message.DoesNotExist, TypeError, ValueError):
        raise NotFound("Message not found.") from None
    conversation_get_for_user(user=user, conversation_id=message.conversation_id, anonymous_token=anonymous_token)
    return message


_STREAMING_REPLY_SQL = (
    f"SELECT id FROM {Message._meta.db_table} WHERE conversation_id = %s AND role = %s AND status = %s "
    "ORDER BY id DESC LIMIT 1"
)
_HISTORY_SQL = (
    f"SELECT role, content FROM {Message._meta.db_table} WHERE conversation_id = %s AND role IN (%s, %s) "
    "AND status <> %s ORDER BY created_at DESC, id DESC LIMIT %s"
)


def message_streaming_guard(*, conversation: Conversation) -> tuple[str, list]:
    """A SELECT (and its parameters) that finds a row while an answer is streaming in the conversation: the guard
    of an insert that must not happen then (`row_inserted_unless`)."""
    return _STREAMING_REPLY_SQL, [conversation.id, Message.Role.ASSISTANT.value, Message.Status.STREAMING.value]


def message_streaming_for_conversation(*, conversation: Conversation) -> Message | None:
    """The assistant message being produced now, if any (a stale one left by a dead process is closed first)."""
    # Asked before every answer, and almost always answered "none": plain SQL (see `rows_fetched`).
    found = rows_fetched(*message_streaming_guard(conversation=conversation))
    message = Message.objects.filter(id=found[0][0]).first() if found else None
    if message is None:
        return None
    if timezone.now() - message.updated_at > STREAM_STALE_AFTER:
        from .services import message_abandon

        message_abandon(message=message)
        return None
    return message


def message_history_for_reply(*, conversation: Conversation, limit: int = 10) -> list[dict]:
    """The last `limit` finished messages with text, oldest first, as the model's history (role, content)."""
    rows = rows_fetched(
        _HISTORY_SQL,
        [
            conversation.id,
            Message.Role.USER.value,
            Message.Role.ASSISTANT.value,
            Message.Status.STREAMING.value,
            limit,
        ],
    )
    return [{"role": role, "content": content} for role, content in reversed(rows) if content]


def conversation_and_streaming_reply(
    *, user, conversation_id: int, anonymous_token: str = ""
) -> tuple[Conversation, Message | None]:
    """The conversation (as `conversation_get_for_user`) and its answer in progress, if any, in one call."""
    conversation = conversation_get_for_user(
        user=user, conversation_id=conversation_id, anonymous_token=anonymous_token
    )
    return conversation, message_streaming_for_conversation(conversation=conversation)
