"""An admin invites a colleague by e-mail; the colleague, without an account, opens the link and joins."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Membership, User

from .conftest import PASSWORD, owner_register, sign_in

pytestmark = [pytest.mark.e2e]


def test_an_invitation_is_sent_from_the_members_page_and_accepted_by_someone_new(
    page, chromium, live_asgi_server, transactional_db, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    owner = owner_register("own@acme.test")
    sign_in(page, owner, live_asgi_server)
    page.goto("/workspace/members/")
    page.get_by_label("E-mail").fill("nia@colleague.test")
    page.locator(".invite-card select[name=invite-role]").select_option("approver")
    page.get_by_role("button", name="Send invitation").click()
    link = page.locator(".invite-link")
    expect(link).to_have_value(re.compile(r"/invitations/[\w-]+/$"))
    url = link.input_value()
    assert len(mail.outbox) == 1 and url.rsplit("/invitations/", 1)[1] in mail.outbox[0].body

    newcomer = chromium.new_context(base_url=live_asgi_server)
    guest = newcomer.new_page()
    guest.goto(url)
    expect(guest.locator("h1")).to_have_text("Join Acme")
    guest.get_by_label("First name").fill("Nia")
    guest.get_by_label("Password").fill(PASSWORD)
    guest.get_by_role("button", name="Create my account and join").click()

    expect(guest).to_have_url(re.compile(r"/dashboard/$"))
    expect(guest.locator(".sidebar")).to_contain_text("Acme")
    nia = User.objects.get(email="nia@colleague.test")
    assert Membership.objects.get(user=nia, workspace=owner.current_workspace).role == "approver"
    guest.goto(url)
    expect(guest.locator("h1")).to_have_text("This link no longer works")
    newcomer.close()
