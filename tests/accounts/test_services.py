"""Service rules not reachable through one endpoint alone: roles, switching, lockout windows."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.selectors import workspace_object_get_for_user
from accounts.services import membership_add, user_authenticate, user_register, workspace_switch
from accounts.throttle import login_throttle_check, login_throttle_fail
from marketing_ai.errors import Conflict, NotFound, PermissionDenied, RateLimited, Unauthorized

pytestmark = pytest.mark.django_db


def test_register_writes_nothing_when_the_password_is_weak():
    with pytest.raises(ValidationError) as error:
        user_register(email="weak@x.test", password="123", company_name="Weak Co")

    assert "password" in error.value.message_dict
    assert not User.objects.exists() and not Workspace.objects.exists()


def test_register_reports_a_bad_email_and_a_weak_password_together():
    with pytest.raises(ValidationError) as error:
        user_register(email="nope", password="123")

    assert set(error.value.message_dict) == {"email", "password"}


def test_register_refuses_a_taken_email_in_another_case(user):
    with pytest.raises(Conflict):
        user_register(email=" OWNER@ACME.TEST ", password="Blue-Lantern-93")


def test_an_admin_adds_members_but_not_owners(user, other_workspace_user):
    admin = user_register(email="admin@acme.test", password="Blue-Lantern-93")
    Membership.objects.create(user=admin, workspace=user.current_workspace, role="admin")

    with pytest.raises(ValidationError) as error:
        membership_add(workspace=user.current_workspace, actor=admin, email=other_workspace_user.email, role="owner")
    assert "role" in error.value.message_dict

    added = membership_add(
        workspace=user.current_workspace, actor=admin, email=other_workspace_user.email, role="editor"
    )
    assert added.role == "editor"


def test_editors_and_outsiders_cannot_add_members(user, other_workspace_user):
    editor = user_register(email="editor@acme.test", password="Blue-Lantern-93")
    Membership.objects.create(user=editor, workspace=user.current_workspace, role="editor")

    with pytest.raises(PermissionDenied):
        membership_add(workspace=user.current_workspace, actor=editor, email="x@y.test", role="viewer")
    with pytest.raises(NotFound):  # another workspace's member: that workspace does not exist for them
        membership_add(workspace=user.current_workspace, actor=other_workspace_user, email="x@y.test", role="viewer")


def test_adding_someone_twice_or_with_an_unknown_role_is_refused(user, other_workspace_user):
    membership_add(workspace=user.current_workspace, actor=user, email=other_workspace_user.email, role="viewer")

    with pytest.raises(ValidationError, match="already a member"):
        membership_add(workspace=user.current_workspace, actor=user, email=other_workspace_user.email, role="viewer")
    with pytest.raises(ValidationError):
        membership_add(workspace=user.current_workspace, actor=user, email=other_workspace_user.email, role="god")
    assert AuditEvent.objects.filter(kind="member_added").count() == 1


def test_switching_needs_a_membership(user, other_workspace_user):
    with pytest.raises(NotFound):
        workspace_switch(user=user, workspace_id=other_workspace_user.current_workspace_id)

    membership_add(
        workspace=other_workspace_user.current_workspace, actor=other_workspace_user, email=user.email, role="viewer"
    )
    assert workspace_switch(user=user, workspace_id=other_workspace_user.current_workspace_id).name == "Globex"


def test_the_tenancy_guard_hides_other_workspaces_objects(user, other_workspace_user):
    mine = Membership.objects.get(user=user)
    theirs = Membership.objects.get(user=other_workspace_user)

    assert workspace_object_get_for_user(queryset=Membership.objects.all(), user=user, pk=mine.pk) == mine
    for pk in (theirs.pk, 999_999, "not-a-number"):
        with pytest.raises(NotFound):
            workspace_object_get_for_user(queryset=Membership.objects.all(), user=user, pk=pk)


def test_a_lockout_lasts_the_configured_window(settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_LOCKOUT_SECONDS = 90
    assert login_throttle_fail(email="a@b.test", ip=None) == []
    assert login_throttle_fail(email="A@B.test", ip=None) == ["email"]

    with pytest.raises(RateLimited) as error:
        login_throttle_check(email="a@b.test", ip=None)
    assert 85 <= error.value.retry_after <= 90
    login_throttle_check(email="other@b.test", ip=None)  # other e-mails are not affected


def test_authenticate_audits_the_reason_of_each_failure(user, password):
    for email, wrong in (("ghost@acme.test", "x"), (user.email, "wrong")):
        with pytest.raises(Unauthorized):
            user_authenticate(email=email, password=wrong, ip="10.0.0.9")

    reasons = sorted(AuditEvent.objects.filter(kind="login_failed").values_list("detail__reason", flat=True))
    assert reasons == ["unknown_email", "wrong_password"]
    assert user_authenticate(email=user.email, password=password) == user
