"""Websocket auth (DESIGN §6): the browser's session cookie, or `?token=<access JWT>` for API clients.

A bad token leaves `scope["auth_error"]` set so the consumer closes with 4401 instead of treating
the client as anonymous.
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware
from django.conf import settings
from rest_framework import exceptions

from marketing_ai.db import db_sync_to_async

from .authentication import login_session_for_access_token


def _session_for_token_sync(raw: str):
    try:
        return login_session_for_access_token(raw)
    except exceptions.AuthenticationFailed:
        return None


_session_for_token = db_sync_to_async(_session_for_token_sync)


class JWTQueryStringAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [""])[0]
        if token:
            session = await _session_for_token(token)
            scope = dict(scope)
            if session is None:
                scope["auth_error"] = "Invalid or expired access token."
            else:
                scope["user"] = session.user
                scope["login_session"] = session
        return await self.inner(scope, receive, send)


class WebsocketSessionMiddleware(SessionMiddleware):
    """Channels' session middleware, minus its session checks on every websocket frame.

    Its wrapper asks the session whether it was modified or is empty on each message sent, in order to save
    it with an HTTP response start; a websocket frame never saves it, and a busy chat process sends
    thousands of frames a second.
    """

    async def __call__(self, scope, receive, send):
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()

        async def frames_sent_directly(message):
            if message["type"] == "websocket.send":
                return await send(message)
            return await wrapper.send(message)

        return await self.inner(wrapper.scope, receive, frames_sent_directly)


def JWTOrSessionAuthMiddlewareStack(inner):  # noqa: N802 - mirrors Channels' AuthMiddlewareStack
    # Session auth runs first; a token, when given, overrides it.
    return CookieMiddleware(WebsocketSessionMiddleware(AuthMiddleware(JWTQueryStringAuthMiddleware(inner))))


class BrowserOriginValidator(OriginValidator):
    """Refuse websocket handshakes whose Origin is not one of ALLOWED_HOSTS, but admit clients sending none.

    The check exists against cross-site websocket hijacking, and browsers always send Origin; API clients
    (DESIGN §6: `?token=<JWT>`) usually send none, and Channels' stock validator would refuse them.
    """

    def __init__(self, application):
        super().__init__(application, settings.ALLOWED_HOSTS)

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or self.validate_origin(parsed_origin)
