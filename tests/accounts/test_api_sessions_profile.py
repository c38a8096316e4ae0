"""Sessions, profile, password change and the JWT checks behind every authenticated API call."""

import time
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, LoginSession, Membership, User
from accounts.services import membership_add
from accounts.tokens import access_token_issue
from tests.accounts.isolation import assert_hidden_from_other_workspace
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

PROFILE = "/api/user/profile"
SESSIONS = "/api/auth/sessions"
PASSWORD = "/api/user/password"


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def session_id_of(client: APIClient) -> str:
    return jwt.decode(client.tokens.access_token, options={"verify_signature": False})["sid"]


# Sessions


def test_sessions_lists_live_sessions_and_marks_the_current_one(jwt_api_client, user):
    other = api_client_for(user)
    other.post("/api/auth/logout")
    laptop = api_client_for(user)

    response = jwt_api_client.get(SESSIONS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    current = [row for row in body["results"] if row["current"]]
    assert len(current) == 1 and current[0]["id"] == session_id_of(jwt_api_client)
    row = body["results"][0]
    assert set(row) == {"id", "ipAddress", "userAgent", "createdAt", "lastUsedAt", "expiresAt", "kind", "current"}
    assert {r["id"] for r in body["results"]} == {str(s.id) for s in LoginSession.objects.filter(revoked_at=None)}
    assert laptop.get(PROFILE).status_code == 200


def test_sessions_list_is_one_query_budget_regardless_of_rows(jwt_api_client, user, django_assert_max_num_queries):
    for _ in range(5):
        api_client_for(user)

    with django_assert_max_num_queries(4):
        assert jwt_api_client.get(SESSIONS).json()["count"] == 6


def test_deleting_a_session_revokes_it_and_its_tokens_immediately(jwt_api_client, user):
    phone = api_client_for(user)
    phone_session = LoginSession.objects.exclude(id=session_id_of(jwt_api_client)).get()

    response = jwt_api_client.delete(f"{SESSIONS}/{phone_session.id}")

    assert response.status_code == 204
    assert phone.get(PROFILE).status_code == 401
    assert jwt_api_client.get(PROFILE).status_code == 200
    phone_session.refresh_from_db()
    assert phone_session.revoked_reason == "user_revoked"
    assert AuditEvent.objects.filter(kind="session_revoked", user=user).exists()


def test_another_users_session_is_404_and_stays_alive(jwt_api_client, other_jwt_api_client, other_workspace_user):
    theirs = LoginSession.objects.get(user=other_workspace_user)

    response = jwt_api_client.delete(f"{SESSIONS}/{theirs.id}")

    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Session not found."}
    assert other_jwt_api_client.get(PROFILE).status_code == 200


def test_the_isolation_helper_sees_a_session_of_another_user_as_not_found(jwt_api_client, other_jwt_api_client, user):
    mine = LoginSession.objects.filter(user=user).first()

    assert_hidden_from_other_workspace(other_jwt_api_client, f"{SESSIONS}/{mine.id}", methods=("delete",))


def test_a_malformed_session_id_is_404(jwt_api_client):
    assert jwt_api_client.delete(f"{SESSIONS}/not-a-uuid").status_code == 404


# Profile


def test_profile_returns_only_the_sanitized_fields(jwt_api_client, user):
    response = jwt_api_client.get(PROFILE)

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": user.id,
        "email": "owner@acme.test",
        "firstName": "Ada",
        "lastName": "Owner",
        "companyName": "Acme",
        "isVerified": False,
        "lastLoginAt": body["lastLoginAt"],
        "createdAt": body["createdAt"],
        "updatedAt": body["updatedAt"],
    }
    assert body["lastLoginAt"]


def test_profile_is_one_query_with_a_jwt(jwt_api_client, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert jwt_api_client.get(PROFILE).status_code == 200


def test_patch_profile_changes_names_and_renames_the_workspace_for_its_owner(jwt_api_client, user):
    response = jwt_api_client.patch(
        PROFILE, {"firstName": " Ada ", "lastName": "Lovelace", "companyName": "Acme Labs"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["firstName"] == "Ada" and response.json()["companyName"] == "Acme Labs"
    user.refresh_from_db()
    assert (user.last_name, user.current_workspace.name) == ("Lovelace", "Acme Labs")


def test_patch_profile_ignores_read_only_fields(jwt_api_client, user):
    response = jwt_api_client.patch(PROFILE, {"email": "evil@x.test", "isVerified": True}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.email, user.is_verified) == ("owner@acme.test", False)


def test_patch_company_name_by_a_viewer_is_403_and_changes_nothing(user, other_workspace_user):
    membership_add(workspace=user.current_workspace, actor=user, email=other_workspace_user.email, role="viewer")
    other_workspace_user.current_workspace = user.current_workspace
    other_workspace_user.save()
    viewer = api_client_for(other_workspace_user)

    response = viewer.patch(PROFILE, {"companyName": "Hijacked", "firstName": "Eve2"}, format="json")

    assert response.status_code == 403
    assert response.json()["statusCode"] == 403
    other_workspace_user.refresh_from_db()
    assert other_workspace_user.first_name == "Eve"
    assert user.current_workspace.name == "Acme"


@pytest.mark.parametrize("body", [{"firstName": 5}, {"companyName": ""}, {"lastName": "x" * 151}])
def test_patch_profile_rejects_bad_values_with_400(jwt_api_client, body):
    response = jwt_api_client.patch(PROFILE, body, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(body)


# Password change


def test_password_change_revokes_other_sessions_keeps_this_one_and_audits(jwt_api_client, user, password):
    other_device = api_client_for(user)

    response = jwt_api_client.post(
        PASSWORD, {"currentPassword": password, "newPassword": "Fresh-Orchid-77"}, format="json"
    )

    assert response.status_code == 204
    assert other_device.get(PROFILE).status_code == 401
    assert jwt_api_client.get(PROFILE).status_code == 200
    user.refresh_from_db()
    assert user.check_password("Fresh-Orchid-77")
    assert AuditEvent.objects.get(kind="password_changed").detail == {"revoked_sessions": 1}


def test_password_change_with_a_wrong_current_password_is_400(jwt_api_client, user):
    response = jwt_api_client.post(
        PASSWORD, {"currentPassword": "nope", "newPassword": "Fresh-Orchid-77"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"currentPassword": ["Your current password is incorrect."]}
    user.refresh_from_db()
    assert not user.check_password("Fresh-Orchid-77")


def test_password_change_rejects_a_weak_new_password(jwt_api_client, password):
    response = jwt_api_client.post(PASSWORD, {"currentPassword": password, "newPassword": "123"}, format="json")

    assert response.status_code == 400
    assert "newPassword" in response.json()["errors"]


# JWT checks (every authenticated endpoint)


def test_garbage_token_is_401(anonymous_api_client):
    response = bearer("not.a.jwt").get(PROFILE)

    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "message": "Invalid or expired access token."}


def test_a_token_with_a_wrong_signature_is_401(jwt_api_client, settings):
    claims = jwt.decode(jwt_api_client.tokens.access_token, options={"verify_signature": False})
    forged = jwt.encode(claims, "another-key-that-is-long-enough-32b", algorithm="HS256")

    assert bearer(forged).get(PROFILE).status_code == 401


def test_an_expired_token_is_401(user):
    session = LoginSession.objects.create(user=user, expires_at=timezone.now() + timedelta(days=1))
    token = access_token_issue(user=user, session=session)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["exp"] = int((timezone.now() - timedelta(minutes=1)).timestamp())
    from django.conf import settings

    expired = jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256")

    assert bearer(expired).get(PROFILE).status_code == 401


def test_a_token_accepted_before_is_401_once_it_expires(user, settings):
    session = LoginSession.objects.create(user=user, expires_at=timezone.now() + timedelta(days=1))
    token = access_token_issue(user=user, session=session)
    # A first request imports the URL modules (seconds on a busy machine); only then does a 2-second token fit.
    assert bearer(token).get(PROFILE).status_code == 200
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["exp"] = int(time.time()) + 2
    short_lived = bearer(jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256"))
    assert short_lived.get(PROFILE).status_code == 200

    time.sleep(max(0.0, claims["exp"] - time.time()) + 0.05)

    assert short_lived.get(PROFILE).status_code == 401


def test_a_token_of_a_deleted_user_is_401(jwt_api_client, user):
    User.objects.filter(id=user.id).delete()

    assert jwt_api_client.get(PROFILE).status_code == 401


def test_a_token_of_a_deactivated_user_is_401(jwt_api_client, user):
    User.objects.filter(id=user.id).update(is_active=False)

    assert jwt_api_client.get(PROFILE).status_code == 401


def test_a_token_whose_session_was_revoked_by_an_admin_is_401(jwt_api_client):
    LoginSession.objects.update(revoked_at=timezone.now(), revoked_reason="admin_revoked")

    assert jwt_api_client.get(PROFILE).status_code == 401


def test_a_token_with_a_malformed_session_claim_is_401(jwt_api_client, settings):
    claims = jwt.decode(jwt_api_client.tokens.access_token, options={"verify_signature": False})
    claims["sid"] = "not-a-uuid"

    assert bearer(jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256")).get(PROFILE).status_code == 401


def test_a_header_with_extra_parts_is_401(anonymous_api_client):
    anonymous_api_client.credentials(HTTP_AUTHORIZATION="Bearer a b")

    assert anonymous_api_client.get(PROFILE).status_code == 401


def test_no_credentials_is_401(anonymous_api_client):
    assert anonymous_api_client.get(PROFILE).status_code == 401


def test_browser_session_api_calls_need_the_csrf_token(user, password):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.patch(PROFILE, data='{"firstName": "X"}', content_type="application/json")

    assert response.status_code == 403
    assert response.json()["statusCode"] == 403


def test_roles_are_kept_per_membership(user, other_workspace_user):
    membership = membership_add(
        workspace=user.current_workspace, actor=user, email=other_workspace_user.email, role="editor"
    )

    assert membership.role == Membership.Role.EDITOR
    assert AuditEvent.objects.filter(kind="member_added", user=user).exists()
