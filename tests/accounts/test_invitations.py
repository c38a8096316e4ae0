"""Invitations by e-mail link: API (DESIGN §4) and pages; expiring, single use, 410 once expired or used."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.invitations import invitation_create
from accounts.models import Invitation, Membership, User
from accounts.services import user_register
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def invited(user, workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = invitation_create(
            workspace=workspace, actor=user, email="New@Colleague.test", role="editor"
        )
    return invitation, token


def test_an_admin_invites_by_api_and_the_link_is_e_mailed(
    jwt_api_client, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = jwt_api_client.post(
            "/api/workspace/invitations", {"email": "sam@new.test", "role": "approver"}, format="json"
        )

    assert response.status_code == 201
    body = response.json()
    assert body["invitation"]["email"] == "sam@new.test" and body["invitation"]["role"] == "approver"
    assert "/invitations/" in body["acceptUrl"]
    assert len(mail.outbox) == 1 and body["acceptUrl"].rsplit("/invitations/", 1)[1] in mail.outbox[0].body
    assert Invitation.objects.get().token_sha256 not in body["acceptUrl"]  # only the hash is stored


def test_an_invitation_with_a_bad_address_or_for_a_member_is_refused(jwt_api_client, user):
    bad = jwt_api_client.post("/api/workspace/invitations", {"email": "nope", "role": "editor"}, format="json")
    member = jwt_api_client.post("/api/workspace/invitations", {"email": user.email, "role": "editor"}, format="json")

    assert bad.status_code == 400 and "email" in bad.json()["errors"]
    assert member.status_code == 409
    assert not Invitation.objects.exists()


def test_an_editor_may_not_invite(workspace):
    editor = User.objects.create_user(email="ed@acme.test", password="Correct-Horse-42")
    Membership.objects.create(user=editor, workspace=workspace, role=Membership.Role.EDITOR)
    editor.current_workspace = workspace
    editor.save(update_fields=["current_workspace"])
    client = api_client_for(editor)

    response = client.post("/api/workspace/invitations", {"email": "x@new.test", "role": "viewer"}, format="json")

    assert response.status_code == 403 and response.json()["statusCode"] == 403


def test_the_invited_address_accepts_by_api_once_then_the_link_is_gone(invited, workspace):
    invitation, token = invited
    newcomer = user_register(email="new@colleague.test", password="Correct-Horse-42", company_name="Own")
    client = api_client_for(newcomer)

    first = client.post(f"/api/invitations/{token}/accept")
    again = client.post(f"/api/invitations/{token}/accept")

    assert first.status_code == 200
    assert first.json() == {"workspaceId": workspace.id, "workspaceName": workspace.name, "role": "editor"}
    assert again.status_code == 410
    newcomer.refresh_from_db()
    assert newcomer.current_workspace_id == workspace.id
    assert Membership.objects.get(user=newcomer, workspace=workspace).role == "editor"


def test_an_expired_link_is_410_and_another_address_is_403(invited, other_workspace_user):
    invitation, token = invited

    wrong_person = api_client_for(other_workspace_user).post(f"/api/invitations/{token}/accept")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = api_client_for(other_workspace_user).post(f"/api/invitations/{token}/accept")

    assert wrong_person.status_code == 403 and "new@colleague.test" in wrong_person.json()["message"]
    assert expired.status_code == 410
    assert not Membership.objects.filter(user=other_workspace_user, workspace=invitation.workspace).exists()


def test_someone_without_an_account_signs_up_from_the_link_and_lands_in_the_workspace(client, invited, workspace):
    invitation, token = invited
    page = client.get(reverse("accounts:invitation", args=[token]))
    assert page.status_code == 200 and "Join Acme" in page.content.decode()

    response = client.post(
        reverse("accounts:invitation", args=[token]),
        {"first_name": "Nia", "last_name": "New", "password": "Correct-Horse-42"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("accounts:dashboard")
    newcomer = User.objects.get(email="new@colleague.test")
    assert newcomer.current_workspace_id == workspace.id
    assert client.get(reverse("accounts:invitation", args=[token])).status_code == 410


def test_the_members_page_invites_and_lists_then_withdraws_an_invitation(logged_in_client, workspace):
    response = logged_in_client.post(
        reverse("accounts:invitation-create"),
        {"invite-email": "ola@new.test", "invite-role": "viewer"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Invitation sent to ola@new.test" in html and "/invitations/" in html
    invitation = Invitation.objects.get()

    logged_in_client.post(reverse("accounts:invitation-revoke", args=[invitation.id]), HTTP_HX_REQUEST="true")

    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
