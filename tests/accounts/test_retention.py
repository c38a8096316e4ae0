"""Ended login sessions, their refresh tokens and expired counters are purged after RETENTION_DAYS."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.counters import database_counter_incremented
from accounts.models import LoginSession, RateCounter, RefreshToken
from accounts.services import login_session_open
from accounts.tasks import accounts_purge_task

pytestmark = pytest.mark.django_db


def test_sessions_that_ended_long_ago_go_with_their_tokens_and_live_ones_stay(user, settings):
    settings.RETENTION_DAYS = 30
    long_ago = timezone.now() - timedelta(days=31)
    expired, _ = login_session_open(user=user)
    revoked, _ = login_session_open(user=user)
    recently_revoked, _ = login_session_open(user=user)
    live, _ = login_session_open(user=user)
    LoginSession.objects.filter(id=expired.id).update(expires_at=long_ago)
    LoginSession.objects.filter(id=revoked.id).update(revoked_at=long_ago)
    LoginSession.objects.filter(id=recently_revoked.id).update(revoked_at=timezone.now() - timedelta(days=2))
    database_counter_incremented("login-fail:email:old", timeout=1)
    RateCounter.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    database_counter_incremented("login-fail:email:current", timeout=300)

    purged = accounts_purge_task()

    assert purged == {"login_sessions": 2, "refresh_tokens": 2, "invitations": 0, "rate_counters": 1}
    assert set(LoginSession.objects.values_list("id", flat=True)) == {recently_revoked.id, live.id}
    assert RefreshToken.objects.filter(session_id=live.id).exists()
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["login-fail:email:current"]


def test_invitations_used_or_expired_long_ago_are_purged_and_open_ones_kept(user, settings):
    from accounts.invitations import invitation_create
    from accounts.models import Invitation

    settings.RETENTION_DAYS = 30
    long_ago = timezone.now() - timedelta(days=31)
    invitations = [
        invitation_create(workspace=user.current_workspace, actor=user, email=f"guest{n}@acme.test", role="viewer")[0]
        for n in range(4)
    ]
    Invitation.objects.filter(id=invitations[0].id).update(accepted_at=long_ago)
    Invitation.objects.filter(id=invitations[1].id).update(expires_at=long_ago)
    Invitation.objects.filter(id=invitations[2].id).update(revoked_at=timezone.now() - timedelta(days=1))

    assert accounts_purge_task()["invitations"] == 2
    assert set(Invitation.objects.values_list("id", flat=True)) == {invitations[2].id, invitations[3].id}
