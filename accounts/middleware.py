import uuid

from django.contrib.auth import logout
from django.utils import timezone

from .browser import LOGIN_SESSION_KEY
from .models import LoginSession
from .selectors import membership_current_for_user
from .session_lookup import LAST_USED_RESOLUTION


class CurrentWorkspaceMiddleware:
    """Attach `request.workspace` and `request.membership` for signed-in browser users (lazy, no query when unused).

    A browser session whose LoginSession was revoked (from another device, by an admin, by a password
    change) or has expired is logged out here, before any view runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        login_session_id = session.get(LOGIN_SESSION_KEY) if session is not None else None
        if login_session_id and not _login_session_touch(login_session_id):
            logout(request)
        request.membership = _LazyMembership(request)
        return self.get_response(request)


def _login_session_touch(login_session_id: str) -> bool:
    """Whether the browser's LoginSession is live; refreshes its last-used time at most once a minute."""
    now = timezone.now()
    try:
        login_session_id = uuid.UUID(str(login_session_id))
    except ValueError:
        return False
    row = (
        LoginSession.objects.filter(id=login_session_id, revoked_at__isnull=True, expires_at__gt=now)
        .values_list("last_used_at", flat=True)
        .first()
    )
    if row is None:
        return False
    if now - row > LAST_USED_RESOLUTION:
        LoginSession.objects.filter(id=login_session_id).update(last_used_at=now)
    return True


class _LazyMembership:
    def __init__(self, request):
        self._request = request
        self._loaded = False
        self._value = None

    def get(self):
        if not self._loaded:
            user = getattr(self._request, "user", None)
            self._value = membership_current_for_user(user=user) if user and user.is_authenticated else None
            self._loaded = True
        return self._value

    def __bool__(self):
        return self.get() is not None

    def __getattr__(self, name):
        return getattr(self.get(), name)
