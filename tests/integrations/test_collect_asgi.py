"""The ASGI fast path in front of Django for /api/collect/{writeKey}: same answers, capacity decided first."""

import json

import pytest

from integrations.collect import CollectFastPath
from integrations.models import Event

# The batch is stored from a worker thread with its own connection, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


class Recorder:
    """The wrapped Django app: records that it was called and answers 200."""

    def __init__(self):
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"django"})


async def call(app, method: str, path: str, body: bytes = b"", *, chunks: int = 1, headers=()):
    """Drive one HTTP request through the ASGI app; returns (status, headers dict, body) and unread messages."""
    size = max(1, -(-len(body) // chunks))
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [{"type": "http.request", "body": part, "more_body": i < len(parts) - 1} for i, part in enumerate(parts)]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(b"content-type", b"application/json"), *headers],
    }
    await app(scope, receive, send)
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, sent[1]["body"], messages


@pytest.fixture
def app():
    app = CollectFastPath(Recorder())
    yield app
    app.executor.shutdown()


def mp_body(n: int) -> bytes:
    events = [{"name": "page_view", "params": {"event_id": f"e{i}"}} for i in range(n)]
    return json.dumps({"client_id": "1.2", "user_id": "u1", "events": events}).encode()


async def test_a_batch_is_mapped_and_stored_with_cors_headers(app, gtm_source):
    origin = [(b"origin", b"https://shop.example.com")]

    status, headers, body, _ = await call(
        app, "POST", f"/api/collect/{gtm_source.write_key}", mp_body(3), chunks=2, headers=origin
    )

    assert status == 202 and json.loads(body) == {"accepted": 3, "rejected": []}
    assert headers["access-control-allow-origin"] == "https://shop.example.com"
    assert headers["content-type"] == "application/json"
    assert await Event.objects.filter(source=gtm_source).acount() == 3
    assert app.app.paths == []


async def test_other_requests_go_to_django_unchanged(app, db):
    for method, path in [("GET", "/api/collect/wk_x"), ("POST", "/api/events"), ("POST", "/api/collect/a/b")]:
        status, _, body, _ = await call(app, method, path)
        assert (status, body) == (200, b"django")
    assert app.app.paths == ["/api/collect/wk_x", "/api/events", "/api/collect/a/b"]


async def test_at_capacity_the_answer_is_429_with_retry_after_and_the_body_is_read(app, gtm_source, settings):
    settings.COLLECT_MAX_IN_FLIGHT = 1
    app.in_flight = 1  # another batch is being stored

    status, headers, body, unread = await call(
        app, "POST", f"/api/collect/{gtm_source.write_key}", mp_body(2), chunks=3
    )

    assert status == 429 and headers["retry-after"] == "1"
    assert json.loads(body)["statusCode"] == 429
    assert unread == []  # the connection can carry the client's next request
    assert await Event.objects.acount() == 0


async def test_a_body_over_the_limit_is_413_and_unknown_keys_are_401(app, gtm_source, settings):
    settings.COLLECT_MAX_BODY_BYTES = 1000

    status, _, body, unread = await call(app, "POST", f"/api/collect/{gtm_source.write_key}", mp_body(40), chunks=4)
    assert status == 413 and json.loads(body)["statusCode"] == 413 and unread == []

    declared = [(b"content-length", b"5000")]
    status, _, _, _ = await call(app, "POST", f"/api/collect/{gtm_source.write_key}", b"x" * 10, headers=declared)
    assert status == 413

    status, _, body, _ = await call(app, "POST", "/api/collect/wk_unknown", mp_body(1))
    assert status == 401 and json.loads(body)["statusCode"] == 401
    assert app.in_flight == 0


async def test_preflight_is_answered_with_cors(app, db):
    status, headers, body, _ = await call(
        app, "OPTIONS", "/api/collect/wk_any", headers=[(b"origin", b"https://a.test")]
    )
    assert status == 204 and body == b""
    assert (
        headers["access-control-allow-origin"] == "https://a.test" and "POST" in headers["access-control-allow-methods"]
    )
