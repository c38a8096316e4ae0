"""What the accounts app keeps no longer than it needs: ended login sessions (with their refresh tokens), used,
revoked or expired invitations, expired browser sessions and rate counters. Beat runs `accounts_purge` daily."""

from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .counters import rate_counters_purge
from .models import Invitation, LoginSession


def accounts_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete login sessions that ended (expired or revoked) and invitations that were used, revoked or expired
    more than RETENTION_DAYS ago (until then a stale link still answers "expired or used"), the refresh tokens of
    those sessions, the expired Django sessions and rate counters; returns how many rows of each went."""
    now = now or timezone.now()
    ended_before = now - timedelta(days=settings.RETENTION_DAYS)
    sessions = LoginSession.objects.filter(Q(expires_at__lt=ended_before) | Q(revoked_at__lt=ended_before))
    _, deleted = sessions.delete()
    invitations, _ = Invitation.objects.filter(
        Q(accepted_at__lt=ended_before) | Q(revoked_at__lt=ended_before) | Q(expires_at__lt=ended_before)
    ).delete()
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return {
        "login_sessions": deleted.get("accounts.LoginSession", 0),
        "refresh_tokens": deleted.get("accounts.RefreshToken", 0),
        "invitations": invitations,
        "rate_counters": rate_counters_purge(now=now),
    }
