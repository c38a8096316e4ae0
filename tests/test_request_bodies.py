"""Request bodies are read and limited the same whatever their framing: a chunked body (no Content-Length) is
read, not taken for empty, under ASGI and WSGI, and one over the limit is a 413 in the error shape."""

import io
import json

import httpx
import pytest
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

from chat.models import Conversation
from marketing_ai.middleware import RequestBodyLimitASGI, RequestBodyLimitWSGI

pytestmark = pytest.mark.django_db(transaction=True)  # ASGI views run in another thread


async def chunks(payload: bytes, size: int = 1000):
    """A body httpx sends with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(payload), size):
        yield payload[start : start + size]


@pytest.fixture
def asgi():
    transport = httpx.ASGITransport(app=RequestBodyLimitASGI(get_asgi_application()))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_a_chunked_json_body_is_read_under_asgi(asgi):
    body = json.dumps({"title": "Sent in chunks"}).encode()

    async with asgi as client:
        response = await client.post(
            "/api/conversations", content=chunks(body, 7), headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 201 and response.json()["title"] == "Sent in chunks"


async def test_a_chunked_body_over_the_limit_is_a_413_under_asgi_and_nothing_is_created(asgi, settings):
    settings.API_MAX_BODY_BYTES = 10_000
    body = json.dumps({"title": "x" * 20_000}).encode()

    async with asgi as client:
        response = await client.post(
            "/api/conversations", content=chunks(body), headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 413
    assert response.json() == {"statusCode": 413, "message": "Request body is too large (limit 10000 bytes)."}
    assert not await Conversation.objects.aexists()


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read_under_asgi(asgi, settings):
    settings.API_MAX_BODY_BYTES = settings.COLLECT_MAX_BODY_BYTES = 10_000  # the largest any endpoint takes

    async with asgi as client:
        response = await client.post("/api/conversations", content=b"x" * 20_000)

    assert response.status_code == 413 and response.json()["statusCode"] == 413


def wsgi_post(path: str, body: bytes, **extra) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",  # the server de-chunked it; no CONTENT_LENGTH
        **extra,
    }
    answer = {}
    body = b"".join(
        RequestBodyLimitWSGI(get_wsgi_application())(environ, lambda status, headers: answer.update(s=status))
    )
    return answer["s"], body


def test_a_chunked_json_body_is_read_under_wsgi():
    status, body = wsgi_post("/api/conversations", json.dumps({"title": "Chunked WSGI"}).encode())

    assert status.startswith("201") and json.loads(body)["title"] == "Chunked WSGI"


def test_a_chunked_body_over_the_limit_is_a_413_under_wsgi(settings):
    settings.API_MAX_BODY_BYTES = 10_000

    status, body = wsgi_post("/api/conversations", json.dumps({"title": "x" * 20_000}).encode())

    assert status.startswith("413") and json.loads(body)["statusCode"] == 413
    assert not Conversation.objects.exists()
