"""The Bearer session row kept in the shared cache: requests skip the database, and every change through the app
(logout, revocation, password change, saves of the user or workspace, deletion) is seen by the very next request."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import LoginSession, User
from tests.conftest import api_client_for
from tests.servers import database_url

pytestmark = pytest.mark.django_db

PROFILE = "/api/user/profile"


@pytest.fixture(autouse=True)
def _session_cache_on(settings):
    settings.AUTH_SESSION_CACHE_SECONDS = 30


def _session_id(client) -> str:
    return jwt.decode(client.tokens.access_token, options={"verify_signature": False})["sid"]


def _cached(client) -> None:
    """One request that puts the client's session row in the cache."""
    assert client.get(PROFILE).status_code == 200


def test_a_cached_session_answers_the_profile_without_a_query(jwt_api_client, django_assert_num_queries):
    _cached(jwt_api_client)

    with django_assert_num_queries(0):
        response = jwt_api_client.get(PROFILE)

    assert response.status_code == 200 and response.json()["email"] == "owner@acme.test"


def test_logout_ends_a_cached_token_at_once(jwt_api_client):
    _cached(jwt_api_client)

    assert jwt_api_client.post("/api/auth/logout").status_code == 204

    assert jwt_api_client.get(PROFILE).status_code == 401


def test_revoking_a_session_from_another_device_ends_its_cached_token_at_once(jwt_api_client, user):
    phone = api_client_for(user)
    _cached(phone)

    assert jwt_api_client.delete(f"/api/auth/sessions/{_session_id(phone)}").status_code == 204

    assert phone.get(PROFILE).status_code == 401
    assert jwt_api_client.get(PROFILE).status_code == 200


def test_a_password_change_ends_the_other_cached_sessions_at_once(jwt_api_client, user, password):
    other_device = api_client_for(user)
    _cached(other_device)

    response = jwt_api_client.post(
        "/api/user/password", {"currentPassword": password, "newPassword": "Fresh-Orchid-77"}, format="json"
    )

    assert response.status_code == 204
    assert other_device.get(PROFILE).status_code == 401


def test_a_profile_change_is_seen_at_once_by_the_users_other_cached_session(jwt_api_client, user):
    laptop = api_client_for(user)
    _cached(laptop)

    jwt_api_client.patch(PROFILE, {"lastName": "Lovelace", "companyName": "Acme Labs"}, format="json")

    body = laptop.get(PROFILE).json()
    assert (body["lastName"], body["companyName"]) == ("Lovelace", "Acme Labs")


def test_a_workspace_renamed_elsewhere_is_seen_at_once(jwt_api_client, workspace):
    _cached(jwt_api_client)
    workspace.name = "Renamed by an admin"
    workspace.save()

    assert jwt_api_client.get(PROFILE).json()["companyName"] == "Renamed by an admin"


def test_a_user_deactivated_by_a_save_loses_a_cached_token_at_once(jwt_api_client, user):
    _cached(jwt_api_client)
    user.is_active = False
    user.save()

    assert jwt_api_client.get(PROFILE).status_code == 401


def test_a_deleted_user_loses_a_cached_token_at_once(jwt_api_client, user):
    _cached(jwt_api_client)

    User.objects.filter(id=user.id).delete()

    assert jwt_api_client.get(PROFILE).status_code == 401


def test_a_session_deleted_by_an_admin_ends_its_cached_token_at_once(jwt_api_client):
    _cached(jwt_api_client)

    LoginSession.objects.get(id=_session_id(jwt_api_client)).delete()

    assert jwt_api_client.get(PROFILE).status_code == 401


def test_while_a_change_is_fresh_the_row_is_read_from_the_database_and_not_cached_again(
    jwt_api_client, user, django_assert_num_queries
):
    """A request that read the row just before a change could otherwise cache the old row after it."""
    _cached(jwt_api_client)
    user.first_name = "Grace"
    user.save()

    for _ in range(2):
        with django_assert_num_queries(1):
            assert jwt_api_client.get(PROFILE).json()["firstName"] == "Grace"


def test_the_last_use_is_recorded_when_the_row_is_read_from_the_database(jwt_api_client):
    session_id = _session_id(jwt_api_client)
    long_ago = timezone.now() - timedelta(minutes=10)
    LoginSession.objects.filter(id=session_id).update(last_used_at=long_ago)

    _cached(jwt_api_client)

    assert LoginSession.objects.get(id=session_id).last_used_at > long_ago + timedelta(minutes=9)


def test_with_redis_unreachable_tokens_are_checked_in_the_database(jwt_api_client, redis_unreachable, settings):
    settings.CACHE_RETRY_SECONDS = 0

    assert jwt_api_client.get(PROFILE).status_code == 200
    assert jwt_api_client.post("/api/auth/logout").status_code == 204
    assert jwt_api_client.get(PROFILE).status_code == 401


REVOKE_ELSEWHERE = """
import sys, django
django.setup()
from accounts.models import LoginSession
from accounts.services import login_session_revoke
login_session_revoke(session=LoginSession.objects.get(id=sys.argv[1]), reason="admin_revoked")
"""


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not (django_settings.REDIS_URL and django_settings.DATABASE_IS_POSTGRES),
    reason="needs PostgreSQL and Redis shared by two processes",
)
def test_a_session_revoked_by_another_process_is_refused_by_this_one(user, settings):
    """This process keeps the row in memory; the other process's change reaches it through Redis."""
    client = api_client_for(user)
    for _ in range(3):
        _cached(client)
    url = database_url(settings)
    subprocess.run(
        [sys.executable, "-c", REVOKE_ELSEWHERE, _session_id(client)],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DATABASE_URL": url, "REDIS_URL": settings.REDIS_URL, "AUTH_SESSION_CACHE_SECONDS": "30"},
        check=True,
    )

    statuses, deadline = [], time.monotonic() + 2  # Redis delivers the change within milliseconds
    while time.monotonic() < deadline and 401 not in statuses:
        statuses.append(client.get(PROFILE).status_code)
        time.sleep(0.01)
    assert statuses[-1] == 401 and len(statuses) <= 5
