"""What the accounts app keeps no longer than it needs: ended login sessions (with their refresh tokens),
expired browser sessions and expired rate counters. Beat runs `accounts_purge` daily (accounts.tasks)."""

from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .counters import rate_counters_purge
from .models import LoginSession


def accounts_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete login sessions that ended (expired or revoked) more than RETENTION_DAYS ago, with their refresh
    tokens, the expired Django sessions and the expired rate counters; returns how many rows of each went."""
    now = now or timezone.now()
    ended_before = now - timedelta(days=settings.RETENTION_DAYS)
    sessions = LoginSession.objects.filter(Q(expires_at__lt=ended_before) | Q(revoked_at__lt=ended_before))
    _, deleted = sessions.delete()
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return {
        "login_sessions": deleted.get("accounts.LoginSession", 0),
        "refresh_tokens": deleted.get("accounts.RefreshToken", 0),
        "rate_counters": rate_counters_purge(now=now),
    }
