"""Access JWTs (15 minutes, bound to a LoginSession) and opaque refresh tokens (stored as hashes)."""

import hashlib
import secrets

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from .models import LoginSession, User

SESSION_CLAIM = "sid"


def access_token_issue(*, user: User, session: LoginSession) -> str:
    """A signed access JWT carrying sub, email, jti and the login session id."""
    token = AccessToken()
    token["sub"] = str(user.id)
    token["email"] = user.email
    token[SESSION_CLAIM] = str(session.id)
    return str(token)


def access_token_decode(raw: str) -> dict:
    """The verified claims of an access JWT; raises ValueError for garbage, bad signature or expiry."""
    try:
        token = AccessToken(raw)
    except TokenError as exc:
        raise ValueError(str(exc)) from exc
    claims = token.payload
    if not claims.get("sub") or not claims.get(SESSION_CLAIM):
        raise ValueError("Token is missing required claims.")
    return claims


def refresh_token_generate() -> str:
    return secrets.token_urlsafe(48)


def refresh_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
