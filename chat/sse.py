"""`GET /api/conversations/{id}/stream`: the answer as Server-Sent Events, from an async view (DESIGN §6).

No thread is held per stream: the events come from the detached producer (or a follower of it) over
asyncio; only the auth and the conversation lookup run in a thread, briefly.
"""

import json

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import login_session_for_access_token
from marketing_ai.errors import ApplicationError, NotFound, Unauthorized, error_json_response

from .selectors import conversation_get_for_user, message_streaming_for_conversation
from .streaming import ReplyRun, reply_admit, reply_follow


def _user_for_access_token(raw: str):
    try:
        return login_session_for_access_token(raw).user
    except AuthenticationFailed as exc:
        raise Unauthorized(str(exc.detail)) from None


def _conversation_for_request(*, user, header: str, token: str, conversation_id: int):
    """Bearer JWT, the session, or an anonymous token (header or `?token=`, which may also carry a JWT)."""
    if header:
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise Unauthorized("Authorization header must be 'Bearer <token>'.")
        user = _user_for_access_token(parts[1])
    try:
        return conversation_get_for_user(user=user, conversation_id=conversation_id, anonymous_token=token)
    except NotFound:
        if not token or token.count(".") != 2:
            raise
    # EventSource cannot send headers, so API clients pass their access token as ?token=.
    user = _user_for_access_token(token)
    return conversation_get_for_user(user=user, conversation_id=conversation_id)


def _offset(request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("offset") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


def sse_frame(event: dict, *, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}data: {json.dumps(event, separators=(',', ':'))}\n\n"


async def _frames(events, *, offset: int):
    # The id of a chunk frame is the answer's length so far: a reconnecting EventSource sends it back
    # as Last-Event-ID and receives only the rest.
    total = offset
    yield "retry: 3000\n\n"
    try:
        async for event in events:
            if event["type"] == "chunk":
                total += len(event["content"])
                yield sse_frame(event, event_id=total)
            else:
                yield sse_frame(event)
    except ApplicationError as exc:
        yield sse_frame({"type": "error", "message": exc.message})


@require_GET
async def conversation_stream(request, conversation_id: int):
    """Answer the conversation's last user message, or join the answer already being written."""
    token = request.headers.get("X-Conversation-Token") or request.GET.get("token", "")
    try:
        user = await request.auser()
        conversation = await sync_to_async(_conversation_for_request)(
            user=user, header=request.headers.get("Authorization", ""), token=token, conversation_id=conversation_id
        )
        streaming = await sync_to_async(message_streaming_for_conversation)(conversation=conversation)
        if streaming is not None:
            events = reply_follow(message_id=streaming.id, offset=_offset(request))
            offset = _offset(request)
        else:
            await sync_to_async(reply_admit)(conversation=conversation, client_key=request.META.get("REMOTE_ADDR", ""))
            events, offset = ReplyRun(conversation=conversation).events(), 0
    except ApplicationError as exc:
        headers = {"WWW-Authenticate": 'Bearer realm="api"'} if exc.status == 401 else {}
        if getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        return error_json_response(exc.status, exc.message, **headers)
    response = StreamingHttpResponse(_frames(events, offset=offset), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
