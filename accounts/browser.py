"""Browser sign-in glue: a Django session bound to a LoginSession row, so it shows up and can be revoked."""

from django.contrib.auth import login, logout
from django.http import HttpRequest

from .models import LoginSession, User
from .services import login_session_create, login_session_revoke

LOGIN_SESSION_KEY = "login_session_id"


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: behind a proxy, run the server with --proxy-headers so it reflects the client.
    return request.META.get("REMOTE_ADDR") or None


def client_user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:512]


def browser_login(request: HttpRequest, user: User) -> LoginSession:
    """Log the browser in (new session key) and open its LoginSession; the cookie lives as long as the row."""
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if request.session.session_key is None:
        request.session.save()
    session = login_session_create(
        user=user,
        ip=client_ip(request),
        user_agent=client_user_agent(request),
        django_session_key=request.session.session_key,
    )
    request.session[LOGIN_SESSION_KEY] = str(session.id)
    request.session.set_expiry(session.expires_at)
    return session


def browser_login_session(request: HttpRequest) -> LoginSession | None:
    """The LoginSession behind this browser session, if any."""
    session_id = request.session.get(LOGIN_SESSION_KEY)
    if not session_id:
        return None
    return LoginSession.objects.select_related("user").filter(id=session_id, user_id=request.user.id).first()


def browser_logout(request: HttpRequest, *, reason: str = LoginSession.RevokeReason.LOGOUT) -> None:
    """Revoke the browser's LoginSession and end the Django session."""
    session = browser_login_session(request) if request.user.is_authenticated else None
    if session is not None:
        login_session_revoke(
            session=session, reason=reason, ip=client_ip(request), user_agent=client_user_agent(request)
        )
    logout(request)
