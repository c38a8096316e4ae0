"""DRF authentication: Bearer access JWTs checked against their login session on every request."""

import uuid

from rest_framework import authentication, exceptions

from .models import LoginSession
from .session_lookup import login_session_with_user
from .tokens import SESSION_CLAIM, access_token_decode


def login_session_for_access_token(raw: str) -> LoginSession:
    """The live session behind an access token (user attached); raises AuthenticationFailed otherwise.

    One cache read or primary-key query loads the session and its user, so revocation costs nothing extra.
    """
    try:
        claims = access_token_decode(raw)
    except ValueError as exc:
        raise exceptions.AuthenticationFailed("Invalid or expired access token.") from exc
    try:
        session_id, user_id = uuid.UUID(str(claims[SESSION_CLAIM])), int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise exceptions.AuthenticationFailed("Invalid or expired access token.") from exc
    session = login_session_with_user(session_id=session_id, user_id=user_id)
    if session is None or not session.user.is_active:
        raise exceptions.AuthenticationFailed("Invalid or expired access token.")
    if not session.is_active:
        raise exceptions.AuthenticationFailed("This session has been revoked or has expired.")
    return session


class SessionJWTAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        session = login_session_for_access_token(parts[1])
        request.login_session = session
        return session.user, session

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """The browser's Django session, with CSRF enforced (DRF's default behaviour)."""
