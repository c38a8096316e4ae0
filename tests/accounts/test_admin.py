"""The admin pages ops rely on: every account model's changelist, the revoke action, the audit log."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditEvent, LoginSession, User
from accounts.services import audit_record
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    admin = User.objects.create_superuser(email="ops@marketing-ai.test", password="Ops-Password-11")
    client.force_login(admin)
    return client


@pytest.mark.parametrize("model", ["user", "workspace", "membership", "loginsession", "auditevent"])
def test_every_accounts_changelist_loads_with_search_and_filters(admin_client, user, model):
    api_client_for(user)
    audit_record(kind="login_failed", email="x@y.test", ip="10.0.0.1")

    assert admin_client.get(f"/admin/accounts/{model}/").status_code == 200
    assert admin_client.get(f"/admin/accounts/{model}/?q=acme").status_code == 200


def test_session_filters_and_change_page_load(admin_client, user):
    api_client_for(user)
    session = LoginSession.objects.get()

    for state in ("active", "revoked", "expired"):
        assert admin_client.get(f"/admin/accounts/loginsession/?state={state}").status_code == 200
    assert admin_client.get(f"/admin/accounts/loginsession/{session.id}/change/").status_code == 200
    assert admin_client.get(f"/admin/accounts/user/{user.id}/change/").status_code == 200
    assert admin_client.get(f"/admin/accounts/workspace/{user.current_workspace_id}/change/").status_code == 200


def test_the_revoke_action_kills_the_sessions_tokens(admin_client, user):
    api = api_client_for(user)
    session = LoginSession.objects.get()

    response = admin_client.post(
        "/admin/accounts/loginsession/", {"action": "revoke_sessions", "_selected_action": [str(session.id)]}
    )

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.revoked_reason == "admin_revoked"
    assert api.get("/api/user/profile").status_code == 401
    assert AuditEvent.objects.get(kind="session_revoked").detail["actor"] == "ops@marketing-ai.test"


def test_the_audit_log_is_read_only_and_filterable(admin_client):
    event = audit_record(kind="locked_out", email="x@y.test", ip="10.0.0.1")

    assert admin_client.get("/admin/accounts/auditevent/?kind=locked_out&q=10.0.0.1").status_code == 200
    page = admin_client.get(f"/admin/accounts/auditevent/{event.id}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin_client.post(f"/admin/accounts/auditevent/{event.id}/delete/", {"post": "yes"}).status_code == 403


def test_seed_demo_is_idempotent_and_prints_the_login(capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert out.count("demo@marketing-ai.local") == 2 and "/login/" in out
    user = User.objects.get(email="demo@marketing-ai.local")
    assert user.memberships.count() == 1 and user.current_workspace.name == "Demo Store"
    assert user.check_password("demo-Marketing-AI-2025")


def test_expired_sessions_are_not_listed_as_active(user):
    api_client_for(user)
    LoginSession.objects.update(expires_at=timezone.now())

    from accounts.selectors import login_session_list_for_user

    assert list(login_session_list_for_user(user=user)) == []


def test_admin_sign_in_goes_through_the_throttled_product_login(client):
    response = client.get("/admin/login/?next=/admin/accounts/user/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/admin/accounts/user/"


def test_staff_signed_in_through_the_product_login_reach_the_admin(client):
    User.objects.create_superuser(email="ops@marketing-ai.test", password="Ops-Password-11")

    response = client.post(
        "/login/?next=/admin/", {"email": "ops@marketing-ai.test", "password": "Ops-Password-11"}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/admin/"
    assert response.status_code == 200
    assert LoginSession.objects.filter(user__email="ops@marketing-ai.test").exists()


def test_a_signed_in_non_staff_user_sees_the_admin_refusal_not_a_redirect_loop(logged_in_client):
    response = logged_in_client.get("/admin/login/?next=/admin/")

    assert response.status_code == 200
    assert b"not authorized" in response.content
