"""Writes for the chat: conversations, messages, and `reply_stream`, the one producer of AI answers (DESIGN §6)."""

import asyncio
import contextlib
import inspect
import logging
import secrets
import time
from collections.abc import AsyncIterator

from django.db import connection, transaction
from django.utils import timezone

from accounts.selectors import membership_current_for_user
from ai.calls import provider_calls_store
from ai.choices import model_choice_resolve
from ai.intent.analysis import aintent_for_answer
from ai.providers.base import ChatRequest, estimate_tokens
from ai.router import providers_for, stream_reply
from marketing_ai.db import db_sync_to_async, row_inserted_unless, rows_fetched, rows_inserted, rows_updated
from marketing_ai.errors import ApplicationError, Conflict, NotFound

from .context import context_build
from .models import Conversation, Message
from .selectors import (
    anonymous_token_hash,
    message_history_for_reply,
    message_streaming_for_conversation,
    message_streaming_guard,
)

logger = logging.getLogger(__name__)

TITLE_MAX_LENGTH = 200
AUTO_TITLE_LENGTH = 50
MESSAGE_MAX_LENGTH = 4000
HISTORY_LENGTH = 10
# Progress reaches the row at most this often: a reload renders it and another process can resume from it.
# (Per chunk it would be a write per model token for every running chat.)
PERSIST_EVERY_SECONDS = 0.5
SYSTEM_PROMPT = (
    "You are Marketing AI, an assistant for digital marketers. Answer from the workspace context you are given "
    "(sources, analysis, campaigns, uploaded files); say so when the data is missing. When you use an uploaded "
    'file\'s passage, name the file and its place, e.g. "According to Q3-report.pdf, page 2: ...". Be concise and '
    "use Markdown."
)
INTERRUPTED_MESSAGE = "Something went wrong while writing this answer. The part written so far is kept."


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if len(title) > TITLE_MAX_LENGTH:
        raise ApplicationError(
            "Some fields are invalid.", errors={"title": [f"At most {TITLE_MAX_LENGTH} characters."]}
        )
    return title


def conversation_create(*, user=None, title: str = "") -> tuple[Conversation, str]:
    """Create a conversation for a signed-in user (in their current workspace) or an anonymous visitor.

    Returns the conversation and, for an anonymous one, the access token to hand out once (only its hash is kept).
    """
    conversation = Conversation(title=_clean_title(title))
    token = ""
    if user is not None and user.is_authenticated:
        membership = membership_current_for_user(user=user)
        conversation.user = user
        conversation.workspace = membership.workspace if membership else None
    else:
        token = secrets.token_urlsafe(32)
        conversation.anonymous_token = anonymous_token_hash(token)
    conversation.full_clean()
    conversation.save()
    return conversation, token


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    """Give the conversation a new, non-empty title."""
    title = _clean_title(title)
    if not title:
        raise ApplicationError("Some fields are invalid.", errors={"title": ["Enter a title."]})
    conversation.title = title
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    """Delete the conversation and its messages."""
    conversation.delete()


def message_validate(content) -> str:
    """The message text, stripped; a field error when it is empty or too long."""
    if not isinstance(content, str) or not content.strip():
        raise ApplicationError("Some fields are invalid.", errors={"content": ["Enter a message."]})
    content = content.strip()
    if len(content) > MESSAGE_MAX_LENGTH:
        raise ApplicationError(
            "Some fields are invalid.", errors={"content": [f"At most {MESSAGE_MAX_LENGTH} characters."]}
        )
    return content


def _conversation_locked(conversation: Conversation) -> None:
    """Serialize writers of one conversation until the transaction ends (one answer at a time).

    PostgreSQL: a row lock. SQLite has none to take: its IMMEDIATE transactions (settings) already hold
    the database's write lock from their start, so the query would only cost time.
    """
    if connection.features.has_select_for_update:
        Conversation.objects.select_for_update().filter(id=conversation.id).first()


# The writes of a question and its answer's row in plain SQL: they run before every answer, on the shared
# database thread, where the ORM's query building would cost several times the statements themselves
# (bench/README.md, "bench/hot_paths.py").
_CONVERSATION_TOUCH_SQL = (
    f"UPDATE {Conversation._meta.db_table} SET updated_at = %s, title = CASE WHEN title = '' THEN %s ELSE title END "
    "WHERE id = %s RETURNING title"
)


def _conversation_touch(conversation: Conversation, *, title: str) -> tuple[str, list]:
    """The statement that marks the conversation active now, titled `title` if it has no title yet; on
    PostgreSQL the UPDATE also takes the row lock that serializes the conversation's writers."""
    now = Conversation._meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    return _CONVERSATION_TOUCH_SQL, [now, title, conversation.id]


def _message_inserted(*, conversation: Conversation, role: str, content: str, status: str, metadata=None) -> Message:
    """`Message.objects.create` in plain SQL (`rows_inserted`)."""
    message = Message(conversation=conversation, role=role, content=content, status=status, metadata=metadata or {})
    rows_inserted([message])
    return message


CONFLICT_STREAMING = "An answer is still being written in this conversation: wait for it or stop it first."


def _question_stored(*, conversation: Conversation, content: str, requested: dict | None) -> Message:
    """Touch (lock) the conversation and store the question. The insert is guarded, so that nothing is stored
    while an answer streams (without a query of its own first): then Conflict, unless that answer's producer died
    (it is closed, and the question stored after all)."""
    touched = rows_fetched(*_conversation_touch(conversation, title=content[:AUTO_TITLE_LENGTH]))
    if not touched:
        raise NotFound("Conversation not found.")
    guard, guard_params = message_streaming_guard(conversation=conversation)
    question = Message(
        conversation=conversation,
        role=Message.Role.USER,
        content=content,
        status=Message.Status.COMPLETE,
        metadata={"requested": requested} if requested else {},
    )
    stored = row_inserted_unless(question, unless_sql=guard, unless_params=guard_params)
    if not stored and message_streaming_for_conversation(conversation=conversation) is None:
        stored = row_inserted_unless(question, unless_sql=guard, unless_params=guard_params)
    if not stored:
        raise Conflict(CONFLICT_STREAMING)
    conversation.title, conversation.updated_at = touched[0][0], timezone.now()
    return question


@transaction.atomic(savepoint=False)  # inside a caller's transaction, a failure rolls the caller's back too
def message_create(*, conversation: Conversation, content: str, provider: str = "", model: str = "") -> Message:
    """Store a user message; refused (Conflict) while an answer is still being written in this conversation.

    `provider`/`model` ask for a model for its answer: checked against what the conversation's member can reach
    (400 naming the field otherwise) and kept as the message's `requested` metadata.
    """
    content = message_validate(content)
    requested = model_choice_resolve(
        workspace=conversation.workspace, user=conversation.user, provider=provider, model=model
    )
    return _question_stored(conversation=conversation, content=content, requested=requested)


def message_send(
    *, user=None, content: str, conversation: Conversation | None = None, provider: str = "", model: str = ""
) -> tuple[Message, str]:
    """Store a user message, creating a conversation titled with its first 50 characters when none is given.

    Returns the message and the anonymous token of a conversation created for an anonymous visitor (else "").
    A model choice the member cannot use is a 400 that leaves nothing stored (no conversation either).
    """
    content = message_validate(content)
    token = ""
    with transaction.atomic():
        if conversation is None:
            conversation, token = conversation_create(user=user, title=content[:AUTO_TITLE_LENGTH])
        message = message_create(conversation=conversation, content=content, provider=provider, model=model)
    return message, token


def message_abandon(*, message: Message) -> None:
    """Close a streaming message whose producer is gone: keep its text as stopped, or delete it when empty."""
    if message.content:
        Message.objects.filter(id=message.id, status=Message.Status.STREAMING).update(
            status=Message.Status.STOPPED, updated_at=timezone.now()
        )
    else:
        Message.objects.filter(id=message.id, status=Message.Status.STREAMING).delete()


def message_pending_for_reply(*, conversation: Conversation) -> Message:
    """The user message an answer is due for; Conflict when an answer is streaming or nothing waits for one."""
    if message_streaming_for_conversation(conversation=conversation) is not None:
        raise Conflict(CONFLICT_STREAMING)
    last = (
        Message.objects.filter(conversation=conversation, role__in=[Message.Role.USER, Message.Role.ASSISTANT])
        .order_by("-created_at", "-id")
        .first()
    )
    if last is None or last.role != Message.Role.USER:
        raise Conflict("There is no new message to answer in this conversation.")
    return last


# What an answer needs before the model is called: the question, the assistant row, the history, and
# (context, providers), or the exception that prevented building them.
PreparedReply = tuple[Message, Message, list[dict], tuple | Exception]


def reply_prepare(
    *, conversation: Conversation, content: str | None = None, provider: str = "", model: str = ""
) -> PreparedReply:
    """`reply_message_open`, then what the answer needs (grounding context, providers), in one database trip.

    With `content`, the question is stored first (the websocket's `message`, with its model choice). A failure
    once the assistant row exists is returned rather than raised, so that the caller closes the row. The
    question's model choice leads the providers.
    """
    question, reply, history = reply_message_open(
        conversation=conversation, content=content, provider=provider, model=model
    )
    try:
        inputs = (
            context_build(conversation=conversation, question=question.content),
            providers_for(  # (also loads the conversation's user, for the call log)
                workspace=conversation.workspace,
                user=conversation.user,
                choice=(question.metadata or {}).get("requested"),
            ),
        )
    except Exception as exc:
        inputs = exc
    return question, reply, history, inputs


@transaction.atomic
def reply_message_open(
    *, conversation: Conversation, content: str | None = None, provider: str = "", model: str = ""
) -> tuple[Message, Message, list]:
    """Create the assistant row (status streaming) for the pending user message; one answer at a time.

    With `content`, that message (and its model choice) is stored here first, in the same transaction.
    """
    if content is not None:
        question = message_create(conversation=conversation, content=content, provider=provider, model=model)
    else:
        _conversation_locked(conversation)
        question = message_pending_for_reply(conversation=conversation)
    history = message_history_for_reply(conversation=conversation, limit=HISTORY_LENGTH)
    reply = _message_inserted(
        conversation=conversation, role=Message.Role.ASSISTANT, content="", status=Message.Status.STREAMING
    )
    return question, reply, history


@transaction.atomic
def reply_message_save(
    *, message: Message, content: str, status: str, intent=None, metadata=None, provider_calls=()
) -> bool:
    """Persist an answer's final text and state with its ProviderCalls; an answer that produced nothing is deleted.

    True when the row remains.
    """
    provider_calls_store(list(provider_calls), user=message.conversation.user)
    if not content and not (metadata or {}).get("recommendations"):
        Message.objects.filter(id=message.id).delete()
        return False
    values = {"content": content, "status": status, "updated_at": timezone.now()}
    if intent is not None:
        values["intent"] = intent
    if metadata is not None:
        values["metadata"] = metadata
    rows_updated(Message, values, id=message.id)
    rows_updated(Conversation, {"updated_at": timezone.now()}, id=message.conversation_id)
    return True


def reply_progress_save(*, message_id: int, content: str, intent: dict) -> None:
    """The text so far of an answer still streaming (one UPDATE; a row already finished is left alone)."""
    rows_updated(
        Message,
        {"content": content, "intent": intent, "updated_at": timezone.now()},
        id=message_id,
        status=Message.Status.STREAMING,
    )


class ReplyWriter:
    """Writes an answer's row: its text now and then while it streams, beside the stream, then the final save.

    A progress save waits on the shared database thread behind every other chat's work; awaited inline, it
    would hold this answer's chunks back for as long (bench/chat.py: the slowest chunks at 200 chats).
    At most one is in flight, and the final save waits for it, so that it never lands after the final one.
    """

    def __init__(self, *, message: Message):
        self.message = message
        self.last_saved = time.monotonic()
        self.saving: asyncio.Task | None = None

    def offer(self, *, parts: list[str], intent: dict) -> None:
        due = time.monotonic() - self.last_saved > PERSIST_EVERY_SECONDS
        if not due or (self.saving is not None and not self.saving.done()):
            return
        self.last_saved = time.monotonic()
        self.saving = asyncio.create_task(self._progress_saved(content="".join(parts), intent=intent))

    async def _progress_saved(self, *, content: str, intent: dict) -> None:
        try:
            await db_sync_to_async(reply_progress_save)(message_id=self.message.id, content=content, intent=intent)
        except Exception:  # the final save still persists the whole answer
            logger.warning("Progress save of reply %s failed", self.message.id, exc_info=True)

    async def finish(self, **fields) -> bool:
        """`reply_message_save` once any progress save landed; shielded, so a stop cannot cut it short."""
        return await asyncio.shield(self._finished(**fields))

    async def _finished(self, **fields) -> bool:
        if self.saving is not None:
            await self.saving
        return await db_sync_to_async(reply_message_save)(message=self.message, **fields)


async def _maybe_await(function, **kwargs):
    """Call a collaborator that may be sync (run in a thread) or async."""
    if inspect.iscoroutinefunction(function):
        return await function(**kwargs)
    return await db_sync_to_async(function)(**kwargs)


def _recommendations_generator():
    try:
        from campaigns.recommendations import recommendations_generate
    except ImportError:
        return None
    return recommendations_generate


def _recommendations_text(payload: dict) -> str:
    if payload.get("type") == "no_data_sources":
        return payload.get("message") or "Connect a data source first so that I can recommend campaigns."
    lines = ["Here are campaign recommendations for your segments:", ""]
    for item in payload.get("recommendations") or []:
        lines.append(f"- **{item.get('name', '')}** ({item.get('segment', '')}): {item.get('objective', '')}")
    return "\n".join(lines)


def _estimated_usage(*, usage: dict, question: str, text: str) -> dict:
    if usage:
        return usage
    # Cancelled before the router's usage event: count what was sent and produced so far.
    return {"provider": "", "model": "", "tokensIn": estimate_tokens(question), "tokensOut": estimate_tokens(text)}


async def reply_stream(
    *, conversation: Conversation, publisher=None, prepared: PreparedReply | None = None
) -> AsyncIterator[dict]:
    """Answer the conversation's last user message as DESIGN §6 events; the reply row always ends persisted.

    The assistant row exists (status streaming) before the first event (`prepared` when the caller already
    opened it with `reply_prepare`). Cancelling the iterating task (stop, shutdown) aborts the provider call
    and keeps the text so far as `stopped` with its usage; a row that produced nothing is deleted. Raises
    Conflict (before any event) when nothing waits for an answer. The ProviderCalls of the answer are
    written with its final save: until then it makes no database trip of its own.
    """
    if prepared is None:
        prepared = await db_sync_to_async(reply_prepare)(conversation=conversation)
    question, reply, history, inputs = prepared
    parts: list[str] = []
    intent: dict = {}
    metadata: dict = {}
    usage: dict = {}
    ledger: list[dict] = []
    writer = ReplyWriter(message=reply)
    status = Message.Status.STREAMING
    if (question.metadata or {}).get("requested"):
        metadata["requested"] = question.metadata["requested"]
    if publisher is not None:
        await publisher.open(message_id=reply.id, task=asyncio.current_task())
    try:
        if isinstance(inputs, Exception):
            raise inputs
        context, providers = inputs
        intent = await aintent_for_answer(
            text=question.content, workspace=conversation.workspace, providers=providers, ledger=ledger
        )
        yield await _emit(publisher, {"type": "intent", "messageId": reply.id, "data": intent})
        recommendations_generate = _recommendations_generator()
        if conversation.user_id and intent.get("intent") == "campaign_recommendation" and recommendations_generate:
            entities = intent.get("entities") or {}
            payload = await _maybe_await(
                recommendations_generate,
                workspace=conversation.workspace,
                user=conversation.user,
                conversation=conversation,
                segments=entities.get("segments") or None,
                channels=entities.get("channels") or None,
            )
            metadata["recommendations"] = payload
            parts.append(_recommendations_text(payload))
            yield await _emit(publisher, {"type": "campaign_recommendation", "messageId": reply.id, "data": payload})
        else:
            request = ChatRequest(
                messages=history, system=SYSTEM_PROMPT, context=context, intent=intent, purpose="chat"
            )
            events = stream_reply(
                request=request,
                workspace=conversation.workspace,
                user=conversation.user,
                providers=providers,
                ledger=ledger,
            )
            # Closed at once when the answer ends early (stop): the provider's call is logged in the ledger
            # before the final save below, not whenever the generator would be collected.
            async with contextlib.aclosing(events):
                async for event in events:
                    if event["type"] == "usage":
                        usage = {k: v for k, v in event.items() if k != "type"}
                        continue
                    if event["type"] == "notice":
                        # A provider broke off mid-answer: the notice stays in the answer, where the reader sees
                        # why the text starts again.
                        metadata.setdefault("notices", []).append(event["message"])
                        event = {"type": "chunk", "content": f"\n\n> {event['message']}\n\n"}
                    if event["type"] == "chunk":
                        parts.append(event["content"])
                        writer.offer(parts=parts, intent=intent)
                    elif event["type"] == "error":
                        metadata["error"] = event.get("message", "")
                    yield await _emit(publisher, event)
        status = Message.Status.COMPLETE
        metadata["usage"] = usage
        await writer.finish(
            content="".join(parts), status=status, intent=intent, metadata=metadata, provider_calls=ledger
        )
        ledger = []  # stored: a failure after this point must not store them twice
        yield await _emit(publisher, {"type": "complete", "messageId": reply.id, "usage": usage, "status": str(status)})
    except Exception:
        logger.exception("Reply %s failed", reply.id)
        status = Message.Status.FAILED
        metadata["error"] = INTERRUPTED_MESSAGE
        yield await _emit(publisher, {"type": "error", "message": INTERRUPTED_MESSAGE})
        yield await _emit(publisher, {"type": "complete", "messageId": reply.id, "usage": usage, "status": "failed"})
    finally:
        stopped = status == Message.Status.STREAMING
        if stopped:
            # Stopped, or the process is shutting down: keep what was written.
            status = Message.Status.STOPPED
        if status != Message.Status.COMPLETE:
            text = "".join(parts)
            metadata["usage"] = _estimated_usage(usage=usage, question=question.content, text=text)
            kept = await writer.finish(
                content=text, status=status, intent=intent, metadata=metadata, provider_calls=ledger
            )
            if stopped and publisher is not None:
                end = {"type": "complete", "messageId": reply.id if kept else None, "usage": metadata["usage"]}
                await publisher.publish({**end, "status": str(status)})
        if publisher is not None:
            await publisher.close()


async def _emit(publisher, event: dict) -> dict:
    if publisher is not None:
        await publisher.publish(event)
    return event
