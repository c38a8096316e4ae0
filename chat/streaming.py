"""Running answers: a detached producer per answer, fanned out live and resumable through the channel layer.

`reply_stream` (services) produces the events. `ReplyRun` drives it in a task of its own, so a transport
that goes away (reload, disconnect) does not stop the answer. While it runs, the producer publishes every
event to the channel-layer group `reply-<messageId>` and answers snapshot and stop requests sent to
`reply-<messageId>-control`. `reply_follow` joins an answer in progress from any web process (Redis
channel layer): the text so far as one chunk, then the rest, with no gap and no duplicate (chunk events
carry their end offset).
"""

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from ai.ratelimit import ai_rate_limit_check
from marketing_ai.db import db_sync_to_async
from marketing_ai.errors import ApplicationError

from .models import Conversation, Message
from .services import (
    PreparedReply,
    message_pending_for_reply,
    message_validate,
    reply_prepare,
    reply_stream,
)

logger = logging.getLogger(__name__)

SNAPSHOT_TIMEOUT_SECONDS = 3.0
IDLE_CHECK_SECONDS = 5.0
_RUNS: dict[int, asyncio.Task] = {}
_TASKS: set[asyncio.Task] = set()
_NOTHING = object()


LAYER_CALL_TIMEOUT_SECONDS = 3.0


async def _layer_call(awaitable, *, what: str):
    """A channel-layer call that can never hang or break the answer it serves (the layer is best effort here)."""
    try:
        return await asyncio.wait_for(awaitable, timeout=LAYER_CALL_TIMEOUT_SECONDS)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.warning("Channel layer %s failed", what, exc_info=True)
        return None


def reply_group(message_id: int) -> str:
    return f"reply-{int(message_id)}"


def reply_control_group(message_id: int) -> str:
    return f"reply-{int(message_id)}-control"


class ReplyPublisher:
    """The producer's side of the channel layer: publishes events, answers snapshot and stop requests."""

    def __init__(self):
        self.layer = get_channel_layer()
        self.message_id: int | None = None
        self.intent: dict = {}
        self.parts: list[str] = []
        self.length = 0
        self.extra: list[dict] = []
        self.final: dict | None = None
        # Events go to the group only once a follower asked for a snapshot: until then nobody listens, and
        # a group_send per chunk would be pure cost. Snapshot and later events are ordered in this loop.
        self.followed = False
        self._joining: asyncio.Task | None = None
        self._listener: asyncio.Task | None = None
        self._closed = False
        self._control = ""

    async def open(self, *, message_id: int, task: asyncio.Task | None) -> None:
        self.message_id = message_id
        if task is not None:
            _RUNS[message_id] = task
        if self.layer is not None:
            # The answer does not wait for the layer's round trips (Redis): followers and stops from other
            # processes arrive when someone reloads or presses stop, long after the control group is joined.
            self._joining = asyncio.create_task(self._join(task))

    async def _join(self, task: asyncio.Task | None) -> None:
        self._control = await _layer_call(self.layer.new_channel(), what="new_channel")
        if not self._control:
            return
        await _layer_call(self.layer.group_add(reply_control_group(self.message_id), self._control), what="group_add")
        if self._closed:  # the answer ended while this joined: leave at once
            await self._leave()
            return
        self._listener = asyncio.create_task(self._listen(task))

    async def _leave(self) -> None:
        await _layer_call(
            self.layer.group_discard(reply_control_group(self.message_id), self._control), what="group_discard"
        )

    async def publish(self, event: dict) -> None:
        if event["type"] == "intent":
            self.intent = event["data"]
        elif event["type"] == "chunk":
            self.parts.append(event["content"])
            self.length += len(event["content"])
        elif event["type"] == "campaign_recommendation":
            self.extra.append(event)
        elif event["type"] == "complete":
            self.final = event
        if self.layer is not None and self.followed:
            await _layer_call(
                self.layer.group_send(
                    reply_group(self.message_id), {"type": "reply.event", "event": event, "end": self.length}
                ),
                what="group_send",
            )

    async def _listen(self, task: asyncio.Task | None) -> None:
        while True:
            try:
                message = await self.layer.receive(self._control)
            except asyncio.CancelledError:
                raise
            except Exception:  # a layer hiccup must not silence resume and stop for the rest of the answer
                logger.warning("Channel layer receive failed", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if message.get("type") == "reply.sync" and message.get("replyTo"):
                self.followed = True
                text = "".join(self.parts)
                self.parts = [text]
                snapshot = {"type": "reply.snapshot", "intent": self.intent, "text": text, "extra": self.extra}
                await _layer_call(self.layer.send(message["replyTo"], snapshot), what="send")
            elif message.get("type") == "reply.stop" and task is not None:
                task.cancel()

    async def close(self) -> None:
        _RUNS.pop(self.message_id, None)
        self._closed = True
        if self._joining is not None and not self._joining.done():
            await asyncio.shield(self._joining)  # still joining: it leaves the group itself once joined
        elif self._listener is not None:
            self._listener.cancel()
            await self._leave()


def _answer_counted(*, conversation: Conversation, client_key: str) -> None:
    """Count one answer against the AI rate limit (RateLimited past it)."""
    ai_rate_limit_check(workspace=conversation.workspace, client_key=client_key or f"conversation-{conversation.id}")


def reply_admit(*, conversation: Conversation, client_key: str = "") -> Message:
    """Check an answer may start now: a user message waits (Conflict otherwise) and the AI rate limit allows it."""
    question = message_pending_for_reply(conversation=conversation)
    _answer_counted(conversation=conversation, client_key=client_key)
    return question


def reply_request(
    *, conversation: Conversation, content, client_key: str = "", provider: str = "", model: str = ""
) -> PreparedReply:
    """Store a user message that asks for an answer now (the websocket's `message`) and open the answer.

    One database trip for all the answer needs before the model is called (`reply_prepare`). The AI rate
    limit is counted before the message is stored, so a refused question leaves nothing behind.
    """
    content = message_validate(content)
    _answer_counted(conversation=conversation, client_key=client_key)
    return reply_prepare(conversation=conversation, content=content, provider=provider, model=model)


async def answers_ended(*, grace_seconds: float) -> None:
    """Let this loop's running answers finish for `grace_seconds`, then cancel the rest and give them as long again
    to end: a cancelled answer saves its text so far as `stopped` (`reply_stream`). For a process shutting down, or
    a test's loop ending."""
    loop = asyncio.get_running_loop()
    running = [task for task in _TASKS if not task.done() and task.get_loop() is loop]
    if running:
        _, running = await asyncio.wait(running, timeout=grace_seconds)
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running, timeout=grace_seconds)


class ReplyRun:
    """One answer produced in a detached task of this process, delivered to one transport.

    Either `sink` (the websocket): the producer awaits it with each event, so a chunk reaches the socket in
    the same task step that read it from the model (a queue between them costs an event-loop turn per
    chunk, which at 200 chats is most of the delay). Or, without a sink, `events()` (SSE's response body).
    """

    def __init__(
        self,
        *,
        conversation: Conversation,
        prepared: PreparedReply | None = None,
        sink: Callable[[dict], Awaitable[None]] | None = None,
    ):
        self.queue: asyncio.Queue = asyncio.Queue()
        self.sink = sink
        self.detached = False
        self.message_id: int | None = None
        # A fresh context: the producer outlives the request or socket that started it, so it must not
        # inherit that request's thread-sensitive executor (asgiref), which ends with the request.
        self.task = asyncio.create_task(self._produce(conversation, prepared), context=contextvars.Context())
        _TASKS.add(self.task)
        self.task.add_done_callback(_TASKS.discard)

    async def _produce(self, conversation: Conversation, prepared: PreparedReply | None) -> None:
        publisher = ReplyPublisher()
        try:
            async for event in reply_stream(conversation=conversation, publisher=publisher, prepared=prepared):
                if event["type"] == "intent":
                    self.message_id = event["messageId"]
                await self._deliver(event)
        except asyncio.CancelledError:
            if publisher.final is not None:  # the `complete` (status stopped) written while stopping
                await self._deliver(publisher.final)
            raise
        except ApplicationError as exc:  # e.g. Conflict raised before the first event
            await self._deliver({"type": "error", "message": exc.message})
        except Exception:  # before the answer's row existed (once it does, reply_stream reports failures)
            logger.exception("An answer could not start")
            await self._deliver({"type": "error", "message": "The answer could not be started. Please try again."})
        finally:
            if self.sink is None:
                self.queue.put_nowait(None)  # the end, for `events()`

    async def _deliver(self, event: dict) -> None:
        if self.sink is None:
            self.queue.put_nowait(event)
        elif not self.detached:
            try:
                await self.sink(event)
            except Exception:  # the transport broke: the answer goes on without it (a reload resumes it)
                logger.info("Reply transport failed; the answer continues without it", exc_info=True)
                self.detached = True

    def detach(self) -> None:
        """The transport went away: the answer goes on, delivered to nobody (a reload follows it)."""
        self.detached = True

    @property
    def running(self) -> bool:
        return not self.task.done()

    def stop(self) -> None:
        """Abort the answer: the provider call is cancelled and the partial text kept."""
        self.task.cancel()

    async def events(self) -> AsyncIterator[dict]:
        """The answer's events; leaving early does not stop the producer.

        Chunks already waiting are sent as one: when the transport falls behind (many chats at once), it
        then writes fewer, larger frames and catches up instead of adding a frame's cost per model chunk.
        """
        pending = _NOTHING
        while True:
            item = pending if pending is not _NOTHING else await self.queue.get()
            pending = _NOTHING
            if item is None:
                return
            if item["type"] == "chunk" and not self.queue.empty():
                parts = [item["content"]]
                while not self.queue.empty():
                    following = self.queue.get_nowait()
                    if isinstance(following, dict) and following["type"] == "chunk":
                        parts.append(following["content"])
                    else:
                        pending = following
                        break
                item = {**item, "content": "".join(parts)}
            yield item


LIVE_UPDATES_DOWN = "Live updates are unavailable right now, so this answer is shown as it is saved, not word by word."
STOP_UNAVAILABLE = "The answer could not be stopped: live updates are unavailable right now. It will finish on its own."


async def reply_stop(*, message_id: int) -> None:
    """Stop the answer wherever it is produced (this process directly, others through the channel layer);
    ApplicationError when the layer (Redis) cannot carry the request."""
    task = _RUNS.get(int(message_id))
    if task is not None:
        task.cancel()
        return
    layer = get_channel_layer()
    if layer is not None:
        try:
            await asyncio.wait_for(
                layer.group_send(reply_control_group(message_id), {"type": "reply.stop"}), LAYER_CALL_TIMEOUT_SECONDS
            )
        except Exception as exc:
            logger.warning("Channel layer group_send failed; the stop did not reach the answer", exc_info=True)
            raise ApplicationError(STOP_UNAVAILABLE, status=503) from exc


def _message_state(message_id: int) -> Message | None:
    return Message.objects.filter(id=message_id).first()


def _events_from_row(message: Message | None, *, message_id: int, offset: int) -> list[dict]:
    """A finished answer as the event sequence (for a follower that arrived after the producer ended)."""
    if message is None:
        return [{"type": "complete", "messageId": None, "usage": {}, "status": "stopped"}]
    events = [{"type": "intent", "messageId": message_id, "data": message.intent}]
    if message.metadata.get("recommendations"):
        events.append(
            {"type": "campaign_recommendation", "messageId": message_id, "data": message.metadata["recommendations"]}
        )
    elif message.content[offset:]:
        events.append({"type": "chunk", "content": message.content[offset:]})
    status = message.status if message.status != Message.Status.STREAMING else Message.Status.STOPPED
    events.append(
        {"type": "complete", "messageId": message_id, "usage": message.metadata.get("usage", {}), "status": status}
    )
    return events


async def _follow_saved(*, message_id: int, offset: int, announced: bool = False) -> AsyncIterator[dict]:
    """With the channel layer (Redis) down: say so, then follow the answer from its database row: the intent
    (unless the follower has it already: `announced`), the text as it is saved, and the end."""
    yield {"type": "error", "message": LIVE_UPDATES_DOWN}
    known = offset
    while True:
        message = await db_sync_to_async(_message_state)(message_id)
        if message is None or message.status != Message.Status.STREAMING:
            events = _events_from_row(message, message_id=message_id, offset=known)
            for event in events[1:] if announced and message is not None else events:
                yield event
            return
        if not announced:
            yield {"type": "intent", "messageId": message_id, "data": message.intent}
            announced = True
        if len(message.content) > known:
            yield {"type": "chunk", "content": message.content[known:]}
            known = len(message.content)
        await asyncio.sleep(IDLE_CHECK_SECONDS / 5)


async def reply_follow(*, message_id: int, offset: int = 0) -> AsyncIterator[dict]:
    """Join an answer in progress: intent, the text after `offset` as one chunk, then the live events."""
    layer = get_channel_layer()
    message = await db_sync_to_async(_message_state)(message_id)
    if layer is None or message is None or message.status != Message.Status.STREAMING:
        for event in _events_from_row(message, message_id=message_id, offset=offset):
            yield event
        return
    channel = await layer.new_channel()
    try:
        await asyncio.wait_for(layer.group_add(reply_group(message_id), channel), LAYER_CALL_TIMEOUT_SECONDS)
        await asyncio.wait_for(
            layer.group_send(reply_control_group(message_id), {"type": "reply.sync", "replyTo": channel}),
            LAYER_CALL_TIMEOUT_SECONDS,
        )
    except Exception:  # the layer (Redis) is down: say so, then follow the saved answer
        logger.warning("Channel layer unavailable; following answer %s from the database", message_id, exc_info=True)
        async for event in _follow_saved(message_id=message_id, offset=offset):
            yield event
        return
    try:
        buffered, snapshot = [], None
        deadline = time.monotonic() + SNAPSHOT_TIMEOUT_SECONDS
        while snapshot is None:
            try:
                received = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
            except (ConnectionError, RedisError):  # the layer (Redis) went away
                async for event in _follow_saved(message_id=message_id, offset=offset):
                    yield event
                return
            except TimeoutError:
                message = await db_sync_to_async(_message_state)(message_id)
                if message is None or message.status != Message.Status.STREAMING:
                    for event in _events_from_row(message, message_id=message_id, offset=offset):
                        yield event
                    return
                if time.monotonic() > deadline:
                    # No producer answered (it runs in a process that died or is stuck): go on from the DB.
                    snapshot = {"intent": message.intent, "text": message.content, "extra": []}
                continue
            if received["type"] == "reply.snapshot":
                snapshot = received
            elif received["type"] == "reply.event":
                buffered.append(received)
        yield {"type": "intent", "messageId": message_id, "data": snapshot["intent"]}
        has_recommendations = bool(snapshot["extra"])
        for event in snapshot["extra"]:
            yield event
        known = len(snapshot["text"])
        if known > offset:
            yield {"type": "chunk", "content": snapshot["text"][offset:]}
        known = max(known, offset)
        while True:
            if buffered:
                received = buffered.pop(0)
            else:
                try:
                    received = await asyncio.wait_for(layer.receive(channel), timeout=IDLE_CHECK_SECONDS)
                except (ConnectionError, RedisError):  # the layer (Redis) went away
                    async for event in _follow_saved(message_id=message_id, offset=known, announced=True):
                        yield event
                    return
                except TimeoutError:
                    message = await db_sync_to_async(_message_state)(message_id)
                    if message is None or message.status != Message.Status.STREAMING:
                        end = len(message.content) if message is not None else 0
                        yield _events_from_row(message, message_id=message_id, offset=end)[-1]
                        return
                    continue
            if received.get("type") != "reply.event":
                continue
            event = received["event"]
            if event["type"] == "chunk":
                end = received["end"]
                start = end - len(event["content"])
                if end <= known:
                    continue
                yield {"type": "chunk", "content": event["content"][max(0, known - start) :]}
                known = end
            elif event["type"] == "intent" or (event["type"] == "campaign_recommendation" and has_recommendations):
                continue
            else:
                yield event
                if event["type"] == "complete":
                    return
    finally:
        await _layer_call(layer.group_discard(reply_group(message_id), channel), what="group_discard")
