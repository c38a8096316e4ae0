import pytest

from accounts.models import Membership
from tests.ai.ai_helpers import fake  # noqa: F401 (pytest fixture: a fake OpenAI-compatible server)

from .factories import CampaignFactory, member


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _member_fixture(name: str, role: str, email: str):
    """A fixture giving a member of the test workspace with this role."""

    @pytest.fixture(name=name)
    def _member(workspace):
        return member(workspace=workspace, role=role, email=email)

    return _member


editor = _member_fixture("editor", Membership.Role.EDITOR, "editor@acme.test")
approver = _member_fixture("approver", Membership.Role.APPROVER, "approver@acme.test")
second_approver = _member_fixture("second_approver", Membership.Role.APPROVER, "approver2@acme.test")
admin_member = _member_fixture("admin_member", Membership.Role.ADMIN, "admin@acme.test")
viewer = _member_fixture("viewer", Membership.Role.VIEWER, "viewer@acme.test")


@pytest.fixture
def campaign(workspace, editor):
    return CampaignFactory(workspace=workspace, created_by=editor)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Members are created many times per test; a fast hasher keeps the suite quick (no login is tested here)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
