"""Account pages: sign up, log in/out, sessions, profile, members, workspace switch."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, LoginSession, Membership, User
from accounts.services import membership_add, user_register
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

SIGNUP = {
    "first_name": "Nia",
    "last_name": "New",
    "company_name": "Shop Co",
    "email": "nia@shop.test",
    "password": "Blue-Lantern-93",
}


def browser_login(client: Client, email: str, password: str, **extra):
    return client.post("/login/", {"email": email, "password": password}, **extra)


def test_landing_page_sells_the_product_and_links_to_signup(client):
    response = client.get("/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Turn your customer data into campaigns" in body
    assert 'href="/signup/"' in body


def test_signup_creates_the_account_logs_in_and_lands_on_the_dashboard(client):
    response = client.post("/signup/", SIGNUP, follow=True)

    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert "Welcome, Nia" in response.content.decode()
    user = User.objects.get(email="nia@shop.test")
    session = LoginSession.objects.get(user=user)
    assert session.django_session_key == client.session.session_key


def test_signup_with_a_taken_email_and_weak_password_shows_inline_errors_with_422(client, user):
    response = client.post("/signup/", {**SIGNUP, "email": "OWNER@acme.test"})

    assert response.status_code == 422
    assert "An account with this email already exists." in response.content.decode()

    weak = client.post("/signup/", {**SIGNUP, "password": "123"})
    assert weak.status_code == 422
    assert 'class="field has-error"' in weak.content.decode()
    assert "This password is too short" in weak.content.decode()
    assert not User.objects.filter(email="nia@shop.test").exists()


def test_signup_requires_an_email(client):
    response = client.post("/signup/", {**SIGNUP, "email": ""})

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


def test_login_opens_a_browser_login_session_bound_to_the_django_session(client, user, password):
    response = browser_login(client, "Owner@Acme.test", password, HTTP_USER_AGENT="Mozilla/5.0 Test")

    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    session = LoginSession.objects.get(user=user)
    assert session.django_session_key == client.session.session_key
    assert session.user_agent == "Mozilla/5.0 Test"
    assert AuditEvent.objects.filter(kind="login_succeeded", user=user, detail__channel="browser").exists()


def test_login_with_a_wrong_password_shows_one_message_with_422(client, user):
    response = browser_login(client, user.email, "wrong-password")

    assert response.status_code == 422
    assert "Invalid email or password." in response.content.decode()
    assert not LoginSession.objects.exists()


def test_login_follows_a_local_next_but_not_an_external_one(client, user, password):
    local = client.post("/login/?next=/account/sessions/", {"email": user.email, "password": password})
    assert local["Location"] == "/account/sessions/"

    other = Client()
    external = other.post("/login/?next=https://evil.test/", {"email": user.email, "password": password})
    assert external["Location"] == "/dashboard/"


def test_browser_logins_are_locked_out_like_the_api(client, user, password, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    browser_login(client, user.email, "nope")
    browser_login(client, user.email, "nope")

    response = browser_login(client, user.email, password)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_logout_revokes_the_browser_login_session(client, user, password):
    browser_login(client, user.email, password)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert LoginSession.objects.get(user=user).revoked_reason == "logout"
    assert client.get("/dashboard/").status_code == 302


def test_a_browser_whose_session_was_revoked_elsewhere_is_logged_out_on_its_next_request(client, user, password):
    browser_login(client, user.email, password)
    api = api_client_for(user)
    browser_session = LoginSession.objects.get(user=user, django_session_key__gt="")

    assert api.delete(f"/api/auth/sessions/{browser_session.id}").status_code == 204

    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_revoked_login_session_logs_the_browser_out_even_if_its_django_session_survives(client, user, password):
    from django.utils import timezone

    browser_login(client, user.email, password)
    LoginSession.objects.update(revoked_at=timezone.now(), revoked_reason="admin_revoked")  # bypasses the service

    assert client.get("/dashboard/").status_code == 302


def test_dashboard_shows_counts_and_a_checklist(logged_in_client):
    response = logged_in_client.get("/dashboard/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Getting started" in body and "Connect a data source" in body
    assert "Acme" in body


def test_sessions_page_lists_sessions_and_revokes_another_one(client, user, password):
    browser_login(client, user.email, password)
    api = api_client_for(user)
    api_session = LoginSession.objects.get(user=user, django_session_key="")

    page = client.get("/account/sessions/")
    assert page.status_code == 200
    assert "This browser" in page.content.decode() and "pytest" in page.content.decode()

    response = client.post(f"/account/sessions/{api_session.id}/revoke/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert api.get("/api/user/profile").status_code == 401
    assert client.get("/dashboard/").status_code == 200


def test_revoking_the_browsers_own_session_logs_it_out(client, user, password):
    browser_login(client, user.email, password)
    own = LoginSession.objects.get(user=user)

    response = client.post(f"/account/sessions/{own.id}/revoke/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and response["HX-Redirect"] == "/login/"
    assert client.get("/dashboard/").status_code == 302


def test_revoke_all_other_sessions_keeps_this_browser(client, user, password):
    browser_login(client, user.email, password)
    phone, laptop = api_client_for(user), api_client_for(user)

    client.post("/account/sessions/revoke-others/")

    assert phone.get("/api/user/profile").status_code == 401
    assert laptop.get("/api/user/profile").status_code == 401
    assert client.get("/dashboard/").status_code == 200


def test_revoking_another_users_session_from_the_page_is_404(client, user, password, other_workspace_user):
    api_client_for(other_workspace_user)
    theirs = LoginSession.objects.get(user=other_workspace_user)
    browser_login(client, user.email, password)

    response = client.post(f"/account/sessions/{theirs.id}/revoke/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_profile_form_saves_names_and_company(logged_in_client, user):
    response = logged_in_client.post(
        "/account/profile/",
        {"first_name": "Ada", "last_name": "Lovelace", "company_name": "Acme Labs"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"  # the sidebar shows the renamed workspace
    user.refresh_from_db()
    assert (user.last_name, user.current_workspace.name) == ("Lovelace", "Acme Labs")


def test_profile_form_saving_only_names_swaps_the_form_with_a_toast(logged_in_client, user):
    response = logged_in_client.post(
        "/account/profile/", {"first_name": "Ada", "last_name": "King", "company_name": "Acme"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert "Profile saved." in response["HX-Trigger"]
    assert 'id="profile-form"' in response.content.decode() and "<html" not in response.content.decode()
    user.refresh_from_db()
    assert user.last_name == "King"


def test_profile_form_with_a_blank_company_is_422(logged_in_client):
    response = logged_in_client.post("/account/profile/", {"first_name": "A", "company_name": ""})

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


def test_password_change_page_rejects_a_wrong_current_password_inline(logged_in_client):
    response = logged_in_client.post(
        "/account/password/", {"current_password": "nope", "new_password": "Fresh-Orchid-77"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 422
    assert "Your current password is incorrect." in response.content.decode()


def test_password_change_page_keeps_this_browser_and_signs_out_others(client, user, password):
    browser_login(client, user.email, password)
    phone = api_client_for(user)

    response = client.post("/account/password/", {"current_password": password, "new_password": "Fresh-Orchid-77"})

    assert response.status_code == 200
    assert phone.get("/api/user/profile").status_code == 401
    assert client.get("/dashboard/").status_code == 200


def test_owner_adds_an_existing_user_as_a_member(logged_in_client, user, other_workspace_user):
    response = logged_in_client.post(
        "/workspace/members/", {"email": "Intruder@Globex.test", "role": "editor"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    membership = Membership.objects.get(user=other_workspace_user, workspace=user.current_workspace)
    assert membership.role == "editor"
    assert "intruder@globex.test" in response.content.decode()


def test_adding_an_unknown_email_shows_an_inline_error_with_422(logged_in_client):
    response = logged_in_client.post("/workspace/members/", {"email": "ghost@nowhere.test", "role": "viewer"})

    assert response.status_code == 422
    assert "No account uses this email" in response.content.decode()


def test_a_viewer_sees_members_read_only_and_cannot_add(client, user, other_workspace_user):
    membership_add(workspace=user.current_workspace, actor=user, email=other_workspace_user.email, role="viewer")
    other_workspace_user.current_workspace = user.current_workspace
    other_workspace_user.save()
    client.force_login(other_workspace_user)
    third = user_register(email="third@x.test", password="Blue-Lantern-93")

    page = client.get("/workspace/members/")
    assert page.status_code == 200 and "Read only" in page.content.decode()

    response = client.post("/workspace/members/", {"email": third.email, "role": "admin"})
    assert response.status_code == 403
    assert not Membership.objects.filter(user=third, workspace=user.current_workspace).exists()


def test_workspace_switcher_changes_the_current_workspace(logged_in_client, user, other_workspace_user):
    membership_add(
        workspace=other_workspace_user.current_workspace, actor=other_workspace_user, email=user.email, role="viewer"
    )
    assert '<select name="workspace"' in logged_in_client.get("/dashboard/").content.decode()

    response = logged_in_client.post(
        "/workspace/switch/", {"workspace": other_workspace_user.current_workspace_id, "next": "/dashboard/"}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.current_workspace.name == "Globex"
    assert "Globex" in logged_in_client.get("/dashboard/").content.decode()


def test_switching_to_a_workspace_you_do_not_belong_to_is_404(logged_in_client, user, other_workspace_user):
    response = logged_in_client.post("/workspace/switch/", {"workspace": other_workspace_user.current_workspace_id})

    assert response.status_code == 404
    user.refresh_from_db()
    assert user.current_workspace.name == "Acme"


@pytest.mark.parametrize("url", ["/dashboard/", "/account/profile/", "/account/sessions/", "/workspace/members/"])
def test_account_pages_need_a_login(client, url):
    response = client.get(url)

    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("url", ["/dashboard/", "/account/profile/", "/account/sessions/", "/workspace/members/"])
def test_account_pages_render_for_a_signed_in_user(logged_in_client, url):
    assert logged_in_client.get(url).status_code == 200


def test_sessions_page_paginates_long_lists(logged_in_client, user):
    for _ in range(27):
        api_client_for(user)

    first = logged_in_client.get("/account/sessions/").content.decode()
    second = logged_in_client.get("/account/sessions/?page=2").content.decode()

    assert first.count('<tr id="session-') == 25 and "Page 1 of 2" in first
    assert second.count('<tr id="session-') == 2


def test_a_missing_page_is_answered_inside_the_app_frame_with_the_navigation(logged_in_client):
    response = logged_in_client.get("/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html
    assert 'class="sidebar"' in html and "Data sources" in html and "Go to the dashboard" in html


def test_the_500_page_is_drawn_inside_the_app_frame(rf, user):
    from marketing_ai.errors import handler500

    request = rf.get("/dashboard/")
    request.user = user
    response = handler500(request)

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert 'class="sidebar"' in response.content.decode()


def test_an_admin_sets_the_workspace_currency_and_locale_and_money_reads_that_way(logged_in_client, workspace):
    response = logged_in_client.post(reverse("accounts:workspace-display"), {"currency": "EUR", "locale": "de_DE"})

    assert response.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.currency, workspace.locale) == ("EUR", "de_DE")
    assert "1.234,50\xa0€" in logged_in_client.get(reverse("accounts:members")).content.decode()
