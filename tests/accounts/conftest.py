import pytest

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    """Argon2 costs ~0.2 s of CPU per hash; these tests use a fast hasher unless they request `argon2_hashing`."""
    if "argon2_hashing" not in request.fixturenames:
        settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def argon2_hashing():
    """Keep the production hashers (Argon2) for this test."""
