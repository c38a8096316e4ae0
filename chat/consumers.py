"""Websocket `ws/chat/<conversationId>/` (DESIGN §6): relays the same events as the SSE stream.

Connect: the session or `?token=<JWT>` (set by the auth middleware), or `?token=<anonymousToken>` for an
anonymous conversation; a bad token closes with 4401, someone else's conversation with 4404. A
conversation with an answer in progress is joined where it is (resume after a reload).
"""

import asyncio
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from marketing_ai.db import db_sync_to_async
from marketing_ai.errors import ApplicationError, NotFound

from .selectors import conversation_and_streaming_reply
from .streaming import ReplyRun, reply_follow, reply_request, reply_stop

CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404


def _error_text(exc: ApplicationError) -> str:
    if exc.errors:
        return " ".join(str(m) for messages in exc.errors.values() for m in messages)
    return exc.message


class ConversationConsumer(AsyncJsonWebsocketConsumer):
    # No channel of its own on the layer: answers are published and followed on channels of their own
    # (streaming.py). Channels would otherwise keep a layer receive pending for every socket, and cancelling
    # that receive on disconnect could leave a Redis-layer process unable to shut down.
    channel_layer_alias = None
    relay_task: asyncio.Task | None = None
    run: ReplyRun | None = None
    message_id: int | None = None

    async def dispatch(self, message):
        # Channels closes the database connection of the shared thread before every websocket message
        # (a thread hop, then a reconnect for the next query). This consumer's database work goes through
        # `db_sync_to_async`, which keeps that connection and closes it only when an error left it unusable.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [""])[0]
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        # A token the auth middleware could not read as a JWT may still be this conversation's anonymous token;
        # anything else is a bad token (4401), never a fall-back to the session or to anonymous.
        bad_token = bool(self.scope.get("auth_error"))
        try:
            self.conversation, streaming = await db_sync_to_async(conversation_and_streaming_reply)(
                user=None if bad_token else self.scope.get("user"),
                conversation_id=conversation_id,
                anonymous_token=token,
            )
        except NotFound:
            return await self.close(code=CLOSE_UNAUTHORIZED if bad_token else CLOSE_NOT_FOUND)
        self.client_key = token[:16] or str((self.scope.get("client") or ["", ""])[0])
        await self.accept()
        if streaming is not None:
            self._relay(reply_follow(message_id=streaming.id))

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "message":
            await self._answer(content.get("content"), provider=content.get("provider"), model=content.get("model"))
        elif kind == "stop":
            await self._stop()
        else:
            await self.send_json({"type": "error", "message": "Unknown message type: send 'message' or 'stop'."})

    async def _answer(self, text, *, provider=None, model=None) -> None:
        relaying = self.relay_task is not None and not self.relay_task.done()
        if relaying or (self.run is not None and self.run.running):
            await self.send_json({"type": "error", "message": "An answer is still being written: wait or stop it."})
            return
        try:
            prepared = await db_sync_to_async(reply_request)(
                conversation=self.conversation,
                content=text,
                client_key=self.client_key,
                provider=provider,
                model=model,
            )
        except ApplicationError as exc:
            await self.send_json({"type": "error", "message": _error_text(exc)})
            return
        self.message_id = None
        self.run = ReplyRun(conversation=self.conversation, prepared=prepared, sink=self._deliver)

    async def _stop(self) -> None:
        if self.run is not None and self.run.running:
            self.run.stop()
        elif self.message_id is not None:
            try:
                await reply_stop(message_id=self.message_id)
            except ApplicationError as exc:
                await self.send_json({"type": "error", "message": exc.message})

    def _relay(self, events) -> None:
        self.message_id = None
        self.relay_task = asyncio.create_task(self._send_all(events))

    async def _send_all(self, events) -> None:
        try:
            async for event in events:
                await self._deliver(event)
        except ApplicationError as exc:
            await self.send_json({"type": "error", "message": exc.message})

    async def _deliver(self, event: dict) -> None:
        if event["type"] == "intent":
            self.message_id = event["messageId"]
        await self.send_json(event)

    async def websocket_disconnect(self, message):
        # Channels' own version also closes the shared database thread's connection (see dispatch).
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def disconnect(self, code):
        # The answer itself goes on (a reload resumes it); only this connection's relay ends.
        if self.relay_task is not None:
            self.relay_task.cancel()
        if self.run is not None:
            self.run.detach()
