"""Shared fixtures: users in separate workspaces, a browser client and a JWT API client."""

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import login_session_open, user_register
from marketing_ai.celery import celery_app

PASSWORD = "Correct-Horse-42"


def pytest_configure(config):
    """Under pytest-xdist (`make test` runs workers) each worker has a test database of its own (pytest-django names
    it after the worker) and, from here on, a Redis database of its own: REDIS_URL's number plus the worker's index
    (gw0 keeps it, gw1 takes the next). Tests flush the cache and name channel groups after row ids, so two workers
    on one Redis database would clear each other's counters and hear each other's groups."""
    from django.conf import settings

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not settings.REDIS_URL:
        return
    shared = settings.REDIS_URL
    parts = urlsplit(shared)
    number = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    own = urlunsplit(parts._replace(path=f"/{number}"))
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CACHES", "CHANNEL_LAYERS"):
        setattr(settings, name, _replaced(getattr(settings, name), shared, own))
    celery_app.conf.broker_url = settings.CELERY_BROKER_URL
    os.environ["REDIS_URL"] = own  # the app started in a process of its own inherits it


def _replaced(value, old: str, new: str):
    """`value` (nested dicts and lists) with every string equal to `old` replaced by `new`."""
    if isinstance(value, dict):
        return {key: _replaced(item, old, new) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_replaced(item, old, new) for item in value)
    return new if value == old else value


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's event loop stays up in the main thread until the session ends."""
    items.sort(key=lambda item: "/e2e/" in str(item.path).replace("\\", "/"))


@pytest.fixture(autouse=True, scope="session")
def _services_are_required_when_asked():
    """With REQUIRE_SERVICES=1 (CI's second pass) a missing PostgreSQL or Redis fails the run instead of skipping."""
    if os.environ.get("REQUIRE_SERVICES") != "1":
        return
    from django.conf import settings

    assert settings.DATABASE_IS_POSTGRES, "REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL"
    assert settings.REDIS_URL, "REQUIRE_SERVICES=1 but REDIS_URL is not set"
    import redis

    redis.Redis.from_url(settings.REDIS_URL).ping()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, and before the test databases are dropped, the shared database thread closes its connection.

    Async code outside a request (websocket consumers, running answers, async tests) works on asgiref's one
    shared thread, which keeps its connection between calls (marketing_ai/db.py); left open, it makes
    PostgreSQL refuse to drop the test database ("being accessed by other users") and the database stays behind.
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)


@pytest.fixture(autouse=True)
def _celery_runs_tasks_inline():
    """Tasks run in the test process (no worker), propagating errors; the broker is never contacted."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _files_in_a_temporary_folder(settings, tmp_path_factory):
    """Uploaded files (STORAGES["files"]) go to a folder of the test's own, never to the project's var/files."""
    location = tmp_path_factory.mktemp("files")
    settings.STORAGES = settings.STORAGES | {
        "files": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}}
    }
    return location


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    """Argon2 costs ~0.2 s of (deliberately low-priority) CPU per hash; tests hash with MD5 unless they
    request `argon2_hashing` (tests/accounts checks the production hasher that way)."""
    if "argon2_hashing" not in request.fixturenames:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def argon2_hashing():
    """Keep the production password hashers (Argon2) for this test."""


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db) -> User:
    return user_register(
        email="owner@acme.test", password=PASSWORD, first_name="Ada", last_name="Owner", company_name="Acme"
    )


@pytest.fixture
def other_workspace_user(db) -> User:
    return user_register(
        email="intruder@globex.test", password=PASSWORD, first_name="Eve", last_name="Other", company_name="Globex"
    )


@pytest.fixture
def workspace(user):
    return user.current_workspace


@pytest.fixture
def logged_in_client(client, user):
    client.force_login(user)
    return client


def api_client_for(user: User) -> APIClient:
    _, tokens = login_session_open(user=user, ip="127.0.0.1", user_agent="pytest")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access_token}")
    api.tokens = tokens
    return api


@pytest.fixture
def jwt_api_client(user) -> APIClient:
    return api_client_for(user)


@pytest.fixture
def other_jwt_api_client(other_workspace_user) -> APIClient:
    return api_client_for(other_workspace_user)


@pytest.fixture
def anonymous_api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def graph(settings):
    """A local fake of Meta's Graph API (tests/meta_fake.py); every Meta base URL setting points at it."""
    from tests.meta_fake import serve_fake_graph

    fake, base, stop = serve_fake_graph()
    settings.META_GRAPH_URL = base
    settings.PLATFORM_INSIGHTS_URL = base
    settings.META_BACKOFF_SECONDS = 0
    yield fake
    stop()


def _dead_redis_url() -> str:
    """A Redis URL on a local port where nothing listens."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_unreachable(settings):
    """The cache (lockout and rate-limit counters, cached reads) on a Redis that does not answer."""
    original = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _dead_redis_url(),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    yield
    settings.CACHES = original  # before the autouse cache clearing runs its teardown


@pytest.fixture
def broker_unreachable():
    """Tasks are published (not run inline) to a Redis broker that does not answer."""
    conf = celery_app.conf
    previous = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = _dead_redis_url(), False
    celery_app._after_fork()  # drop the connection pools built for the previous broker URL
    yield
    conf.broker_url, conf.task_always_eager = previous
    celery_app._after_fork()
