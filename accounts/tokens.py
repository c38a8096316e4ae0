"""Access JWTs (15 minutes, bound to a LoginSession) and opaque refresh tokens (stored as hashes)."""

import functools
import hashlib
import secrets
import time

from django.core.signals import setting_changed
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
    claims = _claims_verified(raw)
    if claims["exp"] <= time.time():
        raise ValueError("Token is expired")
    return dict(claims)


@functools.lru_cache(maxsize=8192)
def _claims_verified(raw: str) -> dict:
    """A client presents the same token on every request for its 15 minutes: its signature and shape are checked
    once per process (PyJWT's checks cost more than the rest of the authentication). Failures are not cached."""
    try:
        token = AccessToken(raw)
    except TokenError as exc:
        raise ValueError(str(exc)) from exc
    claims = token.payload
    if not claims.get("sub") or not claims.get(SESSION_CLAIM) or not isinstance(claims.get("exp"), int | float):
        raise ValueError("Token is missing required claims.")
    return claims


def _forget_verified_tokens(*, setting: str, **kwargs) -> None:
    if setting in ("SIMPLE_JWT", "JWT_SIGNING_KEY"):
        _claims_verified.cache_clear()


setting_changed.connect(_forget_verified_tokens)


def refresh_token_generate() -> str:
    return secrets.token_urlsafe(48)


def refresh_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
