"""The production recipe's two entry points give the same answers: the WSGI app (pages and the REST API under
gunicorn) and the ASGI app (websockets, event streams, and everything under `make run`)."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings

from accounts.services import login_session_open
from integrations.models import DataSource, Event
from tests.servers import AsgiServerThread, WsgiServerThread, database_url, free_port

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def servers(settings):
    """{"wsgi": base URL, "asgi": base URL}, both serving the test database over real sockets."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    wsgi, asgi = WsgiServerThread(free_port()), AsgiServerThread(port := free_port())
    wsgi.start()
    asgi.start()
    asgi.wait_started()
    yield {"wsgi": f"http://127.0.0.1:{wsgi.server.server_port}", "asgi": f"http://127.0.0.1:{port}"}
    wsgi.stop()
    asgi.stop()


def _csrf_free(html: str) -> str:
    """A page with its per-request tokens blanked, so two renderings of the same page compare equal."""
    return re.sub(r'(csrfmiddlewaretoken" value="|"x-csrftoken": ")[^"]+', r"\1-", html)


def test_the_api_answers_the_same_under_wsgi_and_asgi(servers, user):
    _, tokens = login_session_open(user=user, ip="127.0.0.1", user_agent="pytest")
    bearer = {"Authorization": f"Bearer {tokens.access_token}"}
    answers = {}
    for kind, base in servers.items():
        with httpx.Client(base_url=base) as client:
            answers[kind] = [
                (response.status_code, response.headers["content-type"], response.json())
                for response in (
                    client.get("/api/ping"),
                    client.get("/api/user/profile", headers=bearer),
                    client.get("/api/user/profile"),
                    client.get("/api/user/profile", headers={"Authorization": "Bearer nope"}),
                    client.get("/api/data-sources", headers=bearer),
                    client.get("/api/no-such-endpoint", headers=bearer),
                )
            ]

    assert answers["wsgi"] == answers["asgi"]
    statuses = [status for status, _, _ in answers["wsgi"]]
    assert statuses == [200, 200, 401, 401, 200, 404]
    assert answers["wsgi"][1][2]["email"] == "owner@acme.test"
    assert answers["wsgi"][5][2] == {"statusCode": 404, "message": "Not found."}


def test_pages_and_static_files_are_the_same_under_wsgi_and_asgi(servers, user, client):
    client.force_login(user)
    cookies = {django_settings.SESSION_COOKIE_NAME: client.cookies[django_settings.SESSION_COOKIE_NAME].value}
    pages = {}
    for kind, base in servers.items():
        with httpx.Client(base_url=base) as browser:
            login = browser.get("/login/")
            dashboard = browser.get("/dashboard/", cookies=cookies)
            anonymous_dashboard = browser.get("/dashboard/")
            css = browser.get("/static/css/app.css")
            pages[kind] = [
                (login.status_code, _csrf_free(login.text)),
                (dashboard.status_code, _csrf_free(dashboard.text)),
                (anonymous_dashboard.status_code, anonymous_dashboard.headers.get("location")),
                (css.status_code, css.headers["content-type"], len(css.content)),
            ]

    assert pages["wsgi"] == pages["asgi"]
    assert pages["wsgi"][0][0] == 200 and "<form" in pages["wsgi"][0][1]
    assert pages["wsgi"][1][0] == 200 and "Acme" in pages["wsgi"][1][1]
    assert pages["wsgi"][2] == (302, "/login/?next=/dashboard/")
    assert pages["wsgi"][3][:2] == (200, 'text/css; charset="utf-8"')


def test_collect_stores_a_batch_under_wsgi_and_refuses_bad_ones_alike(servers, workspace):
    source = DataSource.objects.create(workspace=workspace, source_type="gtm", name="Tag", config={})
    body = {"client_id": "1.2", "events": [{"name": "page_view", "params": {"event_id": "e1"}}]}
    answers = {}
    for kind, base in servers.items():
        with httpx.Client(base_url=base, headers={"Origin": "https://shop.test"}) as site:
            stored = site.post(f"/api/collect/{source.write_key}", json=body)
            answers[kind] = [
                (stored.status_code, stored.json(), stored.headers["access-control-allow-origin"]),
                (site.post(f"/api/collect/{source.write_key}", content=b"{no").status_code,),
                (site.post("/api/collect/wk_unknown", json=body).status_code,),
                (site.request("OPTIONS", f"/api/collect/{source.write_key}").status_code,),
            ]

    assert answers["wsgi"] == answers["asgi"]
    assert answers["wsgi"] == [(202, {"accepted": 1, "rejected": []}, "https://shop.test"), (400,), (401,), (204,)]
    assert Event.objects.filter(source=source).count() == 1  # the second delivery added nothing


def test_the_client_address_behind_a_trusted_proxy_is_the_forwarded_one_under_both(servers, user, password):
    seen = {}
    for kind, base in servers.items():
        with httpx.Client(base_url=base, headers={"X-Forwarded-For": "10.0.0.1, 203.0.113.9"}) as client:
            login = client.post("/api/auth/login", json={"email": user.email, "password": password})
            bearer = {"Authorization": f"Bearer {login.json()['tokens']['accessToken']}"}
            sessions = client.get("/api/auth/sessions", headers=bearer).json()["results"]
            seen[kind] = next(row["ipAddress"] for row in sessions if row["current"])

    assert seen == {"wsgi": "203.0.113.9", "asgi": "203.0.113.9"}


def test_an_untrusted_peer_cannot_choose_its_address_under_wsgi(servers, user, password, settings):
    settings.FORWARDED_ALLOW_IPS = ["10.9.9.9"]
    with httpx.Client(base_url=servers["wsgi"], headers={"X-Forwarded-For": "203.0.113.9"}) as client:
        login = client.post("/api/auth/login", json={"email": user.email, "password": password})
        bearer = {"Authorization": f"Bearer {login.json()['tokens']['accessToken']}"}
        sessions = client.get("/api/auth/sessions", headers=bearer).json()["results"]

    assert [row["ipAddress"] for row in sessions if row["current"]] == ["127.0.0.1"]


@pytest.mark.services
@pytest.mark.skipif(not django_settings.DATABASE_IS_POSTGRES, reason="gunicorn's processes need a shared database")
def test_gunicorn_serves_the_api_with_the_recipes_config(user, settings):
    """The production recipe itself: gunicorn with `gunicorn.conf.py`, in processes of its own."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "marketing_ai.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _, tokens = login_session_open(user=user, ip="127.0.0.1", user_agent="pytest")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ping = httpx.get(f"http://127.0.0.1:{port}/api/ping")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.2)
        bearer = {"Authorization": f"Bearer {tokens.access_token}"}
        profile = httpx.get(f"http://127.0.0.1:{port}/api/user/profile", headers=bearer)

        def profile_over_one_connection(_) -> list[int]:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=bearer, timeout=30) as client:
                return [client.get("/api/user/profile").status_code for _ in range(3)]

        # More kept-alive clients at once than the processes have threads: the ones a process cannot serve yet
        # wait for a thread, and each client's later requests reuse its connection.
        with ThreadPoolExecutor(12) as pool:
            kept_alive = list(pool.map(profile_over_one_connection, range(12)))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)

    assert (ping.status_code, ping.json()) == (200, {})
    assert profile.status_code == 200 and json.loads(profile.content)["email"] == "owner@acme.test"
    assert kept_alive == [[200, 200, 200]] * 12
