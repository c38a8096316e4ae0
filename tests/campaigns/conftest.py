import pytest

from accounts.models import Membership

from .factories import CampaignFactory, member


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def editor(workspace):
    return member(workspace=workspace, role=Membership.Role.EDITOR, email="editor@acme.test")


@pytest.fixture
def approver(workspace):
    return member(workspace=workspace, role=Membership.Role.APPROVER, email="approver@acme.test")


@pytest.fixture
def second_approver(workspace):
    return member(workspace=workspace, role=Membership.Role.APPROVER, email="approver2@acme.test")


@pytest.fixture
def admin_member(workspace):
    return member(workspace=workspace, role=Membership.Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def viewer(workspace):
    return member(workspace=workspace, role=Membership.Role.VIEWER, email="viewer@acme.test")


@pytest.fixture
def campaign(workspace, editor):
    return CampaignFactory(workspace=workspace, created_by=editor)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Members are created many times per test; a fast hasher keeps the suite quick (no login is tested here)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
