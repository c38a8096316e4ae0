"""Redis is an accelerator, not a single point of failure (DESIGN §9): with it unreachable, logins, lockouts,
event intake and job starts keep their promises; nothing answers 500."""

import pytest
from django.conf import settings as django_settings

from accounts.models import RateCounter
from integrations.models import Event, SyncJob
from tests.servers import database_url

pytestmark = pytest.mark.django_db


def login(api, email, password):
    return api.post("/api/auth/login", {"email": email, "password": password}, format="json")


def test_a_correct_login_works_while_redis_is_down(redis_unreachable, anonymous_api_client, user, password):
    response = login(anonymous_api_client, user.email, password)

    assert response.status_code == 200 and response.json()["tokens"]["accessToken"]


def test_the_per_account_lockout_still_holds_while_redis_is_down(
    redis_unreachable, anonymous_api_client, user, password, settings
):
    attempts = [
        login(anonymous_api_client, user.email, "wrong").status_code for _ in range(settings.LOGIN_FAILURE_LIMIT)
    ]
    locked = login(anonymous_api_client, user.email, password)

    assert attempts == [401] * settings.LOGIN_FAILURE_LIMIT
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert locked.json()["statusCode"] == 429


def test_a_lockout_outlives_the_end_of_the_cache_outage(
    settings, anonymous_api_client, user, password, django_assert_max_num_queries
):
    from tests.conftest import _dead_redis_url

    original = settings.CACHES
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _dead_redis_url()}
    }
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        login(anonymous_api_client, user.email, "wrong")
    settings.CACHES = original  # Redis is back, with none of the counts made meanwhile

    assert login(anonymous_api_client, user.email, password).status_code == 429
    assert RateCounter.objects.filter(key__startswith="login-lock:").count() == 1


def test_the_browser_login_page_signs_in_while_redis_is_down(redis_unreachable, client, user, password):
    response = client.post("/login/", {"email": user.email, "password": password})

    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_collect_stores_events_while_redis_is_down(redis_unreachable, client, workspace, user):
    from integrations.models import DataSource

    source = DataSource.objects.create(workspace=workspace, source_type="gtm", name="Site", config={})
    body = {"client_id": "1.2", "events": [{"name": "page_view", "params": {"event_id": f"e{n}"}} for n in range(5)]}

    response = client.post(f"/api/collect/{source.write_key}", body, content_type="application/json")

    assert response.status_code == 202 and response.json() == {"accepted": 5, "rejected": []}
    assert Event.objects.filter(source=source).count() == 5


@pytest.mark.django_db(transaction=True)  # the job is published when the request's transaction commits
def test_a_job_start_with_the_broker_down_answers_503_and_leaves_no_queued_job(broker_unreachable, jwt_api_client):
    response = jwt_api_client.post("/api/data-sources/dummy-data/bulk/gtm", {"count": 10}, format="json")

    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert response.json() == {
        "statusCode": 503,
        "message": "The job queue is unavailable right now; try again in a minute.",
    }
    job = SyncJob.objects.get()
    assert job.status == "failed" and "could not be queued" in job.error


@pytest.mark.django_db(transaction=True)
def test_content_generation_with_the_broker_down_answers_503_and_fails_the_job(
    broker_unreachable, jwt_api_client, user
):
    from campaigns.models import ContentJob
    from tests.campaigns.factories import CampaignFactory

    campaign = CampaignFactory(workspace=user.current_workspace, created_by=user)

    response = jwt_api_client.post(f"/api/campaigns/{campaign.pk}/content", {"platforms": ["instagram"]}, format="json")

    assert response.status_code == 503 and response.json()["statusCode"] == 503
    job = ContentJob.objects.get(campaign=campaign)
    assert job.status == "failed" and "queue is unavailable" in job.error


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not django_settings.DATABASE_IS_POSTGRES, reason="a server process shares the test database")
def test_a_server_started_with_redis_url_on_a_dead_port_serves_logins_intake_and_refuses_job_starts(
    argon2_hashing, settings, user, password, workspace
):
    """The whole process configured against an unreachable Redis (cache, broker and channel layer), as an
    operator would see it: nothing answers 500."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    from integrations.models import DataSource
    from tests.conftest import _dead_redis_url

    source = DataSource.objects.create(workspace=workspace, source_type="gtm", name="Site", config={})
    port = int(_dead_redis_url().rsplit(":", 1)[1].split("/")[0])  # a free port for the server itself
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings),
        "REDIS_URL": _dead_redis_url(),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "marketing_ai.asgi:application",
        "--port",
        str(port),
        "--lifespan",
        "off",
    ]
    server = subprocess.Popen(
        command,
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    http.get("/api/ping")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.2)
            signed_in = http.post("/api/auth/login", json={"email": user.email, "password": password})
            failures = [
                http.post("/api/auth/login", json={"email": user.email, "password": "wrong"}).status_code
                for _ in range(settings.LOGIN_FAILURE_LIMIT + 1)
            ]
            events = {"client_id": "1.2", "events": [{"name": "page_view", "params": {"event_id": "e1"}}]}
            collected = http.post(f"/api/collect/{source.write_key}", json=events)
            bearer = {"Authorization": f"Bearer {signed_in.json()['tokens']['accessToken']}"}
            started = http.post("/api/data-sources/dummy-data/bulk/gtm", json={"count": 10}, headers=bearer)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert signed_in.status_code == 200
    assert failures[:-1] == [401] * settings.LOGIN_FAILURE_LIMIT and failures[-1] == 429
    assert collected.status_code == 202 and collected.json()["accepted"] == 1
    assert started.status_code == 503 and started.headers["Retry-After"]


def test_the_overview_answers_from_the_day_rollups_while_redis_is_down_and_the_window_is_stale(
    redis_unreachable, broker_unreachable, jwt_api_client, workspace
):
    from integrations.models import DefaultWindow

    DefaultWindow.objects.filter(workspace=workspace).delete()  # stale: the overview asks a worker to rebuild it

    response = jwt_api_client.get("/api/analytics/overview")

    assert response.status_code == 200 and response.json()["rowCounts"] == {"events": 0, "customers": 0}
