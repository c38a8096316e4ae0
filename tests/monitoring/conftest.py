import pytest

from accounts.models import User


@pytest.fixture
def staff_user(db) -> User:
    return User.objects.create_user(email="ops@site.test", password="Ops-Passw0rd!", is_staff=True)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
