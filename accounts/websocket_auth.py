"""Websocket auth (DESIGN §6): the browser's session cookie, or `?token=<access JWT>` for API clients.

A bad token leaves `scope["auth_error"]` set so the consumer closes with 4401 instead of treating
the client as anonymous.
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from rest_framework import exceptions

from .authentication import login_session_for_access_token


@database_sync_to_async
def _session_for_token(raw: str):
    try:
        return login_session_for_access_token(raw)
    except exceptions.AuthenticationFailed:
        return None


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


def JWTOrSessionAuthMiddlewareStack(inner):  # noqa: N802 - mirrors Channels' AuthMiddlewareStack
    # Session auth runs first; a token, when given, overrides it.
    return AuthMiddlewareStack(JWTQueryStringAuthMiddleware(inner))
