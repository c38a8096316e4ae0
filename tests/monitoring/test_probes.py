"""/healthz and /readyz (DESIGN §10): liveness never depends on anything; readiness names the part that is down."""

import pytest

from tests.conftest import _dead_redis_url

pytestmark = pytest.mark.django_db


def test_healthz_answers_200_without_credentials(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_on_the_embedded_default_without_redis(client, settings):
    settings.REDIS_URL, settings.CELERY_BROKER_URL = "", "memory://"

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "not configured", "broker": "not configured"}


def test_readyz_answers_503_naming_redis_when_it_is_down_while_healthz_stays_200(client, settings):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = _dead_redis_url()

    ready, alive = client.get("/readyz"), client.get("/healthz")

    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("down")
    assert body["checks"]["broker"].startswith("down")
    assert alive.status_code == 200
