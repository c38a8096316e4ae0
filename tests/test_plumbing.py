"""The API error contract (DESIGN §4) for requests no app view handles."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_api_path_answers_404_in_the_error_shape(client):
    response = client.get("/api/does-not-exist/")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Not found."}


def test_declared_body_over_the_limit_answers_413_before_reading_it(client, settings):
    settings.API_MAX_BODY_BYTES = 10
    response = client.post("/api/auth/login", data="x" * 11, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["statusCode"] == 413


def test_schema_is_served_as_openapi(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_docs_page_loads_swagger_ui_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "swagger-ui" in body
    assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", body)  # no asset from another host (CDN)


# A view that fails unexpectedly, mounted only for these tests (through `pytest.mark.urls`).
from django.urls import include, path  # noqa: E402
from rest_framework.permissions import AllowAny  # noqa: E402
from rest_framework.views import APIView  # noqa: E402


class _ExplodingApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("SELECT secret FROM internals -- must never reach the client")


urlpatterns = [
    path("api/explode", _ExplodingApi.as_view()),
    path("", include("marketing_ai.urls")),
]


@pytest.mark.urls(__name__)
def test_an_unexpected_error_answers_500_in_the_error_shape_without_internals(client, caplog):
    response = client.get("/api/explode")

    assert response.status_code == 500
    assert response.json() == {"statusCode": 500, "message": "Internal server error."}
    assert b"SELECT" not in response.content
    assert "Unhandled API error" in caplog.text


@pytest.mark.urls(__name__)
def test_the_rest_of_the_api_still_routes_beside_the_test_view(client):
    assert client.get("/api/ping").json() == {}


def test_ping_is_a_bare_anonymous_baseline(client):
    response = client.get("/api/ping", HTTP_AUTHORIZATION="Bearer garbage")

    assert response.status_code == 200
    assert response.json() == {}


def test_a_non_numeric_content_length_is_400(client):
    response = client.generic("POST", "/api/auth/login", b"{}", content_type="application/json", CONTENT_LENGTH="x")

    assert response.status_code == 400
    assert response.json()["statusCode"] == 400


def test_multipart_bodies_get_the_larger_upload_limit(client, settings):
    settings.API_MAX_BODY_BYTES = 10
    settings.API_MAX_UPLOAD_BYTES = 10_000
    response = client.post("/api/auth/login", {"email": "a@b.test", "password": "x" * 50})

    assert response.status_code == 401  # parsed and answered by the view, not refused at the edge


def test_the_schema_documents_the_auth_endpoints(client):
    body = client.get("/api/schema/").content.decode()

    for path_ in (
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/sessions",
        "/api/user/profile",
    ):
        assert path_ in body


DEEPLY_NESTED_JSON = "[" * 5000 + "]" * 5000


def test_absurdly_nested_json_is_a_400_not_a_crash(jwt_api_client):
    response = jwt_api_client.generic("PATCH", "/api/user/profile", DEEPLY_NESTED_JSON, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["statusCode"] == 400
    assert "nested too deeply" in response.json()["message"]


async def test_concurrent_tasks_share_one_cache_backend_and_its_data():
    import asyncio
    import contextvars

    from asgiref.sync import sync_to_async
    from django.core.cache import cache

    from marketing_ai.caching import shared_cache

    def backend_used() -> int:
        shared_cache().set("plumbing-probe", "seen", 30)
        return id(shared_cache())

    # Each task runs in a context of its own, as websockets and detached chat answers do.
    tasks = [asyncio.create_task(sync_to_async(backend_used)(), context=contextvars.Context()) for _ in range(3)]
    assert len(set(await asyncio.gather(*tasks))) == 1
    assert await sync_to_async(cache.get)("plumbing-probe") == "seen"  # the same data as Django's own handle


def test_the_shared_cache_follows_a_change_of_the_cache_settings(settings):
    from marketing_ai.caching import shared_cache

    before = shared_cache()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert shared_cache() is not before and shared_cache().get("anything", "missing") == "missing"


def test_the_wsgi_module_loads_every_view_before_gunicorn_forks_its_workers():
    """Otherwise each worker imported the views and the AI SDKs on its first request (seconds, not milliseconds)."""
    import subprocess
    import sys

    probe = (
        "import sys, marketing_ai.wsgi\n"
        "loaded = set(sys.modules)\n"
        "from django.test import Client\n"
        "assert Client().get('/api/ping').status_code == 200\n"
        "print(sorted(m for m in set(sys.modules) - loaded if m.split('.')[0] in "
        "{'accounts', 'ai', 'campaigns', 'chat', 'integrations', 'openai', 'anthropic', 'google'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_a_counter_counts_up_and_expires_with_its_window(settings, backend):
    from django.core.cache import cache

    from marketing_ai.caching import counter_incremented, shared_cache

    if backend == "redis":
        if not settings.REDIS_URL:
            pytest.skip("needs REDIS_URL")
        settings.CACHES = {"default": {"BACKEND": "marketing_ai.caching.RedisCache", "LOCATION": settings.REDIS_URL}}
    shared_cache().delete("plumbing-counter")

    counts = [counter_incremented("plumbing-counter", timeout=2) for _ in range(3)]

    assert counts == [1, 2, 3]
    assert cache.get("plumbing-counter") == 3
    if backend == "redis":
        client = shared_cache().backend._cache.get_client(write=True)
        assert 0 < client.ttl(cache.make_and_validate_key("plumbing-counter")) <= 2
    shared_cache().delete("plumbing-counter")
