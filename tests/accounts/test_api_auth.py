"""The auth contract of DESIGN §4: register, login, refresh, logout, lockout."""

import pytest
from django.contrib.auth.hashers import check_password

from accounts.models import AuditEvent, LoginSession, Membership, RefreshToken, User

pytestmark = pytest.mark.django_db

REGISTER = "/api/auth/register"
LOGIN = "/api/auth/login"
REFRESH = "/api/auth/refresh"
LOGOUT = "/api/auth/logout"
PROFILE = "/api/user/profile"
STRONG = "Blue-Lantern-93"


def register_body(**overrides) -> dict:
    body = {
        "email": "new@shop.test",
        "password": STRONG,
        "firstName": "Nia",
        "lastName": "New",
        "companyName": "Shop Co",
    }
    body.update(overrides)
    return body


# Register


def test_register_creates_user_workspace_owner_membership_and_session(anonymous_api_client):
    response = anonymous_api_client.post(REGISTER, register_body(), format="json", HTTP_USER_AGENT="Firefox")

    assert response.status_code == 201
    body = response.json()
    assert set(body["user"]) == {
        "id", "email", "firstName", "lastName", "companyName", "isVerified", "lastLoginAt", "createdAt", "updatedAt",
    }  # fmt: skip
    assert body["user"]["email"] == "new@shop.test"
    assert body["user"]["companyName"] == "Shop Co"
    assert set(body["tokens"]) == {"accessToken", "refreshToken", "expiresIn"}
    assert body["tokens"]["expiresIn"] == 15 * 60
    user = User.objects.get(email="new@shop.test")
    assert Membership.objects.get(user=user).role == "owner"
    assert user.current_workspace.name == "Shop Co"
    session = LoginSession.objects.get(user=user)
    assert session.user_agent == "Firefox" and session.ip_address == "127.0.0.1"
    assert AuditEvent.objects.filter(user=user, kind="registered").exists()


def test_register_names_the_workspace_after_the_email_domain_without_a_company(anonymous_api_client):
    response = anonymous_api_client.post(REGISTER, register_body(companyName=""), format="json")

    assert response.status_code == 201
    assert response.json()["user"]["companyName"] == "shop.test"


def test_register_access_token_works_on_the_profile(anonymous_api_client):
    tokens = anonymous_api_client.post(REGISTER, register_body(), format="json").json()["tokens"]

    anonymous_api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['accessToken']}")
    assert anonymous_api_client.get(PROFILE).json()["email"] == "new@shop.test"


def test_register_stores_an_argon2_hash_never_the_password(anonymous_api_client, argon2_hashing):
    anonymous_api_client.post(REGISTER, register_body(), format="json")

    user = User.objects.get(email="new@shop.test")
    assert user.password.startswith("argon2")
    assert STRONG not in user.password


def test_register_rejects_a_taken_email_regardless_of_case_with_409(anonymous_api_client, user):
    response = anonymous_api_client.post(REGISTER, register_body(email="OWNER@Acme.TEST"), format="json")

    assert response.status_code == 409
    assert response.json() == {"statusCode": 409, "message": "An account with this email already exists."}
    assert User.objects.filter(email__iexact="owner@acme.test").count() == 1


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901", "new@shop.test"])
def test_register_rejects_a_weak_password_with_400_and_writes_nothing(anonymous_api_client, password):
    response = anonymous_api_client.post(REGISTER, register_body(password=password), format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400 and body["errors"]["password"]
    assert not User.objects.exists()
    assert not LoginSession.objects.exists()


def test_register_rejects_a_bad_email_with_400(anonymous_api_client):
    response = anonymous_api_client.post(REGISTER, register_body(email="not-an-email"), format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"email": ["Enter a valid email address."]}


def test_register_requires_email_and_password(anonymous_api_client):
    response = anonymous_api_client.post(REGISTER, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "password"}


@pytest.mark.parametrize(
    "field,value",
    [
        ("email", 42),
        ("password", 12345678901234),
        ("firstName", ["Nia"]),
        ("companyName", {"a": 1}),
        ("password", True),
    ],
)
def test_register_rejects_wrong_typed_fields_with_400(anonymous_api_client, field, value):
    response = anonymous_api_client.post(REGISTER, register_body(**{field: value}), format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not User.objects.exists()


def test_register_rejects_a_json_array_body_with_400(anonymous_api_client):
    response = anonymous_api_client.post(REGISTER, [register_body()], format="json")

    assert response.status_code == 400
    assert "nonFieldErrors" in response.json()["errors"]


def test_malformed_json_is_answered_400_in_the_error_shape(anonymous_api_client):
    response = anonymous_api_client.post(REGISTER, data='{"email": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["message"].startswith("Malformed request body")


def test_an_unknown_content_type_is_answered_415(anonymous_api_client):
    response = anonymous_api_client.post(LOGIN, data="<login/>", content_type="application/xml")

    assert response.status_code == 415
    assert response.json()["statusCode"] == 415


def test_a_wrong_method_is_answered_405(anonymous_api_client):
    response = anonymous_api_client.get(LOGIN)

    assert response.status_code == 405
    assert response.json() == {"statusCode": 405, "message": 'Method "GET" not allowed.'}


# Login


def test_login_answers_tokens_records_ip_user_agent_and_last_login(anonymous_api_client, user, password):
    response = anonymous_api_client.post(
        LOGIN,
        {"email": "Owner@Acme.test", "password": password},
        format="json",
        HTTP_USER_AGENT="curl/8",
        REMOTE_ADDR="10.1.2.3",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == user.id and body["user"]["lastLoginAt"]
    session = LoginSession.objects.get(user=user)
    assert (session.ip_address, session.user_agent) == ("10.1.2.3", "curl/8")
    user.refresh_from_db()
    assert user.last_login_at is not None
    assert AuditEvent.objects.filter(user=user, kind="login_succeeded", ip_address="10.1.2.3").exists()


@pytest.mark.parametrize("email,wrong", [("owner@acme.test", "Wrong-Password-1"), ("nobody@acme.test", "x")])
def test_login_answers_the_same_401_for_wrong_password_and_unknown_email(anonymous_api_client, user, email, wrong):
    response = anonymous_api_client.post(LOGIN, {"email": email, "password": wrong}, format="json")

    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "message": "Invalid email or password."}
    assert not LoginSession.objects.exists()
    assert AuditEvent.objects.get(kind="login_failed").email == email


def test_login_of_a_deactivated_user_is_401(anonymous_api_client, user, password):
    User.objects.filter(id=user.id).update(is_active=False)

    response = anonymous_api_client.post(LOGIN, {"email": user.email, "password": password}, format="json")

    assert response.status_code == 401


def test_login_rejects_wrong_typed_fields_with_400(anonymous_api_client, user):
    response = anonymous_api_client.post(LOGIN, {"email": user.email, "password": 123}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"password": ["Must be a string."]}


def test_repeated_failures_lock_the_email_out_with_429_and_retry_after(anonymous_api_client, user, password, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_SECONDS = 120
    for _ in range(3):
        bad = anonymous_api_client.post(LOGIN, {"email": user.email, "password": "nope"}, format="json")
        assert bad.status_code == 401

    response = anonymous_api_client.post(LOGIN, {"email": user.email, "password": password}, format="json")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 120
    assert response.json()["statusCode"] == 429
    assert not LoginSession.objects.exists()
    assert AuditEvent.objects.filter(kind="locked_out", email=user.email).count() == 1


def test_failures_from_one_ip_lock_that_ip_out_across_emails(anonymous_api_client, user, password, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 4
    for index in range(4):
        anonymous_api_client.post(LOGIN, {"email": f"guess{index}@acme.test", "password": "x"}, format="json")

    locked = anonymous_api_client.post(LOGIN, {"email": user.email, "password": password}, format="json")
    elsewhere = anonymous_api_client.post(
        LOGIN, {"email": user.email, "password": password}, format="json", REMOTE_ADDR="10.9.9.9"
    )

    assert locked.status_code == 429
    assert elsewhere.status_code == 200


def test_a_successful_login_resets_the_email_failure_count(anonymous_api_client, user, password, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        anonymous_api_client.post(LOGIN, {"email": user.email, "password": "nope"}, format="json")
    assert (
        anonymous_api_client.post(LOGIN, {"email": user.email, "password": password}, format="json").status_code == 200
    )

    for _ in range(2):
        anonymous_api_client.post(LOGIN, {"email": user.email, "password": "nope"}, format="json")
    response = anonymous_api_client.post(LOGIN, {"email": user.email, "password": password}, format="json")

    assert response.status_code == 200


# Refresh


def test_refresh_rotates_the_pair_and_kills_the_old_refresh_token(anonymous_api_client, jwt_api_client):
    old = jwt_api_client.tokens.refresh_token

    response = anonymous_api_client.post(REFRESH, {"refreshToken": old}, format="json")

    assert response.status_code == 200
    tokens = response.json()["tokens"]
    assert tokens["refreshToken"] != old
    assert RefreshToken.objects.filter(rotated_at__isnull=True).count() == 1
    anonymous_api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['accessToken']}")
    assert anonymous_api_client.get(PROFILE).status_code == 200
    assert (
        anonymous_api_client.post(REFRESH, {"refreshToken": tokens["refreshToken"]}, format="json").status_code == 200
    )


def test_refresh_tokens_are_stored_only_as_sha256_hashes(jwt_api_client):
    import hashlib

    raw = jwt_api_client.tokens.refresh_token
    stored = RefreshToken.objects.get()
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert not RefreshToken.objects.filter(token_hash=raw).exists()


def test_reusing_a_rotated_refresh_token_revokes_the_whole_session(anonymous_api_client, jwt_api_client, user):
    old = jwt_api_client.tokens.refresh_token
    fresh = anonymous_api_client.post(REFRESH, {"refreshToken": old}, format="json").json()["tokens"]

    replay = anonymous_api_client.post(REFRESH, {"refreshToken": old}, format="json")

    assert replay.status_code == 401
    session = LoginSession.objects.get(user=user)
    assert session.revoked_at is not None and session.revoked_reason == "refresh_reuse"
    assert AuditEvent.objects.filter(kind="refresh_reuse", user=user).exists()
    # Both the legitimate newest pair and the original access token are dead now.
    assert anonymous_api_client.post(REFRESH, {"refreshToken": fresh["refreshToken"]}, format="json").status_code == 401
    assert jwt_api_client.get(PROFILE).status_code == 401


@pytest.mark.parametrize("token", ["unknown-token", ""])
def test_refresh_with_an_unknown_or_empty_token_is_401_or_400(anonymous_api_client, token):
    response = anonymous_api_client.post(REFRESH, {"refreshToken": token}, format="json")

    assert response.status_code == (401 if token else 400)


def test_an_access_token_posted_as_the_refresh_token_is_401(anonymous_api_client, jwt_api_client):
    access_token = jwt_api_client.tokens.access_token

    response = anonymous_api_client.post(REFRESH, {"refreshToken": access_token}, format="json")

    assert response.status_code == 401
    assert response.json()["statusCode"] == 401


def test_refresh_of_an_expired_session_is_401(anonymous_api_client, jwt_api_client):
    from django.utils import timezone

    LoginSession.objects.update(expires_at=timezone.now())

    response = anonymous_api_client.post(REFRESH, {"refreshToken": jwt_api_client.tokens.refresh_token}, format="json")

    assert response.status_code == 401
    assert response.json()["message"] == "Invalid or expired refresh token."


def test_retrying_a_refresh_of_an_expired_session_is_not_reported_as_reuse(anonymous_api_client, jwt_api_client):
    from django.utils import timezone

    LoginSession.objects.update(expires_at=timezone.now())
    token = jwt_api_client.tokens.refresh_token

    first = anonymous_api_client.post(REFRESH, {"refreshToken": token}, format="json")
    second = anonymous_api_client.post(REFRESH, {"refreshToken": token}, format="json")

    assert (first.status_code, second.status_code) == (401, 401)
    assert not AuditEvent.objects.filter(kind="refresh_reuse").exists()
    assert LoginSession.objects.get().revoked_at is None


def test_refresh_of_a_logged_out_session_is_401(anonymous_api_client, jwt_api_client):
    assert jwt_api_client.post(LOGOUT).status_code == 204

    response = anonymous_api_client.post(REFRESH, {"refreshToken": jwt_api_client.tokens.refresh_token}, format="json")

    assert response.status_code == 401


# Logout


def test_logout_revokes_the_current_session_and_its_access_token_at_once(jwt_api_client, user):
    response = jwt_api_client.post(LOGOUT)

    assert response.status_code == 204
    session = LoginSession.objects.get(user=user)
    assert session.revoked_reason == "logout"
    after = jwt_api_client.get(PROFILE)
    assert after.status_code == 401
    assert after.json() == {"statusCode": 401, "message": "This session has been revoked or has expired."}
    assert AuditEvent.objects.filter(kind="logged_out", user=user).exists()


def test_logout_leaves_the_users_other_sessions_alive(jwt_api_client, user):
    from tests.conftest import api_client_for

    other_device = api_client_for(user)

    jwt_api_client.post(LOGOUT)

    assert other_device.get(PROFILE).status_code == 200


def test_logout_without_credentials_is_401(anonymous_api_client):
    response = anonymous_api_client.post(LOGOUT)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_auth_endpoints_ignore_a_stale_bearer_header(anonymous_api_client, user, password):
    anonymous_api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")

    response = anonymous_api_client.post(LOGIN, {"email": user.email, "password": password}, format="json")

    assert response.status_code == 200


def test_password_is_checked_with_argon2_on_login(anonymous_api_client, argon2_hashing):
    user = User.objects.create_user(email="argon@acme.test", password=STRONG)
    assert check_password(STRONG, user.password)

    response = anonymous_api_client.post(LOGIN, {"email": "argon@acme.test", "password": STRONG}, format="json")

    assert response.status_code == 200
