"""The browser flow of a new account: sign up, land on the dashboard, log out, log in again."""

import pytest

from accounts.models import LoginSession, User

pytestmark = [pytest.mark.e2e]

PASSWORD = "Blue-Lantern-93"


def test_sign_up_land_on_dashboard_log_out_and_log_in_again(page):
    page.goto("/")
    page.click("text=Get started free")

    page.fill("#id_first_name", "Grace")
    page.fill("#id_last_name", "Hopper")
    page.fill("#id_company_name", "Harbor Goods")
    page.fill("#id_email", "grace@harbor.test")
    page.fill("#id_password", "short")
    page.click("button:has-text('Create account')")
    assert "too short" in page.text_content(".field.has-error")  # inline error, still on the form

    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Create account')")
    page.wait_for_url("**/dashboard/")
    assert "Welcome, Grace" in page.text_content("h1")
    assert "Harbor Goods" in page.text_content(".workspace-switcher")

    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login/")
    user = User.objects.get(email="grace@harbor.test")
    assert LoginSession.objects.get(user=user).revoked_reason == "logout"

    page.fill("#id_email", "grace@harbor.test")
    page.fill("#id_password", "not-my-password")
    page.click("button:has-text('Log in')")
    assert "Invalid email or password." in page.text_content(".alert.error")

    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/dashboard/")
    assert "Welcome, Grace" in page.text_content("h1")
    assert LoginSession.objects.filter(user=user, revoked_at__isnull=True).count() == 1
