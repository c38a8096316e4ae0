"""Browser tests: the real ASGI app (HTTP + websockets) served by uvicorn in a thread, driven by Playwright.

Playwright drives the system Chromium (never a downloaded browser). Without Chromium the tests skip,
unless REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

import os
import shutil

import pytest

from tests.servers import AsgiServerThread, free_port

PASSWORD = "Correct-Horse-42"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run"]


def _chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(autouse=True)
def _sync_orm_beside_playwrights_loop(monkeypatch):
    """Playwright's sync API keeps an event loop running in the test thread while fixtures there still
    make plain synchronous ORM calls, so Django's async-safety guard is lifted for browser tests only."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def live_asgi_server(transactional_db, settings):
    """Base URL of the app served over real sockets, sharing the test database."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    port = free_port()
    thread = AsgiServerThread(port)
    thread.start()
    thread.wait_started()
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


def owner_register(email: str, *, first_name: str = "Ada", last_name: str = "Owner", demo_customers: int = 0):
    """A new owner of an "Acme" workspace, optionally with `demo_customers` demo customers and their events."""
    from accounts.services import user_register
    from integrations.jobs import demo_data_ensure

    owner = user_register(
        email=email, password=PASSWORD, first_name=first_name, last_name=last_name, company_name="Acme"
    )
    if demo_customers:
        demo_data_ensure(workspace=owner.current_workspace, count=demo_customers)
    return owner


def sign_in(page, user, base_url: str) -> None:
    """Put a real Django session for `user` into the browser context."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
