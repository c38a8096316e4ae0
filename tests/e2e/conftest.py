"""Browser tests: the real ASGI app (HTTP + websockets) served by uvicorn in a thread, driven by Playwright.

Playwright drives the system Chromium (never a downloaded browser). Without Chromium the tests skip,
unless REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

import asyncio
import os
import shutil
import socket
import threading
import time

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run"]


def _chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _ServerThread(threading.Thread):
    def __init__(self, port: int):
        super().__init__(daemon=True)
        import uvicorn

        from marketing_ai.asgi import application

        config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)

    def run(self):
        asyncio.run(self._serve())

    async def _serve(self):
        from ai.providers.openai_compat import kept_clients_close

        try:
            await self.server.serve()
        finally:
            await kept_clients_close()  # the server's loop ends: its provider connections too

    def stop(self):
        self.server.should_exit = True
        self.join(timeout=10)


@pytest.fixture(autouse=True)
def _sync_orm_beside_playwrights_loop(monkeypatch):
    """Playwright's sync API keeps an event loop running in the test thread while fixtures there still
    make plain synchronous ORM calls, so Django's async-safety guard is lifted for browser tests only."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def live_asgi_server(transactional_db, settings):
    """Base URL of the app served over real sockets, sharing the test database."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    port = _free_port()
    thread = _ServerThread(port)
    thread.start()
    deadline = time.monotonic() + 15
    while not thread.server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("The ASGI test server did not start.")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    thread.stop()


@pytest.fixture(scope="session")
def chromium(django_db_setup):
    """The browser; the test database is created first, before Playwright's event loop is running."""
    path = _chromium_path()
    if path is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but no chromium executable is installed")
        pytest.skip("system Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_asgi_server):
    context = chromium.new_context(base_url=live_asgi_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
