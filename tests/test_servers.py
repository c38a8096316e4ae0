"""The production recipe's two entry points give the same answers: the WSGI app (pages and the REST API under
gunicorn) and the ASGI app (websockets, event streams, and everything under `make run`)."""

import contextlib
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
from tests.servers import (
    AsgiServerThread,
    WsgiServerThread,
    children_of,
    connections_per_process,
    database_url,
    free_port,
    tcp_sockets_on_port,
)

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


@contextlib.contextmanager
def recipe_serving(settings, *arguments: str, log=subprocess.DEVNULL):
    """The production recipe itself, gunicorn with `gunicorn.conf.py` and two workers, in processes of its own:
    yields (port, the master's process) once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "INFO",  # worker boots are logged
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "marketing_ai.wsgi:application", *arguments],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/ping")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.2)
        yield port, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def _listening(port: int) -> set[int]:
    return {inode for inode, state in tcp_sockets_on_port(port).items() if state == "listen"}


needs_postgres = pytest.mark.skipif(
    not django_settings.DATABASE_IS_POSTGRES, reason="gunicorn's processes need a shared database"
)


@pytest.mark.services
@needs_postgres
def test_gunicorn_serves_the_api_with_the_recipes_config(user, settings):
    """The recipe answers the API, also on kept-alive connections, more of them than it has threads."""
    _, tokens = login_session_open(user=user, ip="127.0.0.1", user_agent="pytest")
    with recipe_serving(settings) as (port, _process):
        ping = httpx.get(f"http://127.0.0.1:{port}/api/ping")
        bearer = {"Authorization": f"Bearer {tokens.access_token}"}
        profile = httpx.get(f"http://127.0.0.1:{port}/api/user/profile", headers=bearer)

        def profile_over_one_connection(_) -> list[int]:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=bearer, timeout=30) as client:
                return [client.get("/api/user/profile").status_code for _ in range(3)]

        # More kept-alive clients at once than the processes have threads: the ones a process cannot serve yet
        # wait for a thread, and each client's later requests reuse its connection.
        with ThreadPoolExecutor(12) as pool:
            kept_alive = list(pool.map(profile_over_one_connection, range(12)))

    assert (ping.status_code, ping.json()) == (200, {})
    assert profile.status_code == 200 and json.loads(profile.content)["email"] == "owner@acme.test"
    assert kept_alive == [[200, 200, 200]] * 12


@pytest.mark.services
@needs_postgres
def test_the_recipes_workers_each_listen_and_share_a_burst_of_kept_alive_connections(settings):
    """Each worker has a listening socket of its own beside the master's, so a burst of new connections is spread
    over the workers instead of landing in whichever ran first (marketing_ai/gunicorn_worker.py)."""
    with recipe_serving(settings) as (port, process):
        deadline = time.monotonic() + 30
        while len(_listening(port)) < 3 and time.monotonic() < deadline:  # the second worker may still boot
            time.sleep(0.1)
        workers = children_of(process.pid)
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) for _ in range(24)]
        try:
            with ThreadPoolExecutor(24) as pool:  # all at once, each then kept alive
                statuses = list(pool.map(lambda client: client.get("/api/ping").status_code, clients))
            listening = _listening(port)
            served = connections_per_process(workers, port)
        finally:
            for client in clients:
                client.close()

    assert statuses == [200] * 24
    assert len(workers) == 2 and len(listening) == 3  # one per worker, one the master keeps
    assert sum(served.values()) == 24 and min(served.values()) > 0, served


@pytest.mark.services
@needs_postgres
def test_no_connection_is_refused_while_every_worker_restarts(settings, tmp_path):
    """Workers that all restart at once (`max_requests`) leave the master's socket listening: new connections wait
    for the next worker instead of being refused."""
    refused, reset, answered = [], [], []
    log_path = tmp_path / "gunicorn.log"

    def restarts() -> int:
        return log_path.read_text().count("Booting worker") - 2

    def requests_on_new_connections(port: int, deadline: float) -> None:
        # Until both workers have restarted a few times (or a loaded machine has taken too long for that).
        while restarts() < 6 and time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/ping", headers={"Connection": "close"}, timeout=30)
                answered.append(response.status_code)
            except httpx.ConnectError as exc:  # refused: nothing listened
                refused.append(repr(exc))
            except httpx.TransportError:  # a handshake still under way on a closing worker's socket can be reset
                reset.append(1)  # (README, production: tcp_migrate_req); not what this test is about

    with (
        log_path.open("w") as log,
        recipe_serving(settings, "--max-requests", "25", "--max-requests-jitter", "0", log=log) as (port, _),
        ThreadPoolExecutor(6) as pool,
    ):
        deadline = time.monotonic() + 60
        list(pool.map(lambda _: requests_on_new_connections(port, deadline), range(6)))
        restarted = restarts()

    assert restarted >= 6
    assert refused == []
    assert set(answered) == {200} and len(answered) > 10 * len(reset)
