import pytest
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.staff import OPS


@pytest.fixture
def staff_user(db) -> User:
    """A member of the ops staff role (accounts/staff.py), who is sent the alerts."""
    user = User.objects.create_user(email="ops@site.test", password="Ops-Passw0rd!", is_staff=True)
    user.groups.add(Group.objects.get(name=OPS))
    return user


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
