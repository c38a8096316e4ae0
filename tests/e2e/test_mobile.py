"""On a phone (390×844): the navigation folds behind a menu button and no main page scrolls sideways."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.context_processors import NAVIGATION

from .conftest import owner_register, sign_in

pytestmark = [pytest.mark.e2e]

EXTRA_PAGES = ["accounts:members", "accounts:profile", "accounts:notifications", "integrations:source-create"]


def main_pages() -> list[str]:
    """Every page of the navigation, plus the account pages."""
    return [reverse(name) for _label, name, _icon in NAVIGATION] + [reverse(name) for name in EXTRA_PAGES]


@pytest.fixture
def phone(chromium, live_asgi_server, transactional_db):
    owner = owner_register("phone@acme.test", first_name="Pia", last_name="Phone", demo_customers=60)
    context = chromium.new_context(base_url=live_asgi_server, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, owner, live_asgi_server)
    yield page
    context.close()


def test_no_main_page_scrolls_sideways_on_a_phone(phone):
    too_wide = {}
    for path in main_pages():
        response = phone.goto(path)
        assert response.status == 200, path
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide[path] = width
    assert too_wide == {}


def test_the_navigation_folds_behind_the_menu_button_on_a_phone(phone):
    phone.goto("/dashboard/")
    navigation = phone.locator("#sidebar")
    expect(navigation).to_be_hidden()

    phone.get_by_role("button", name="Menu").click()

    expect(navigation).to_be_visible()
    expect(navigation.get_by_role("link", name="Data sources")).to_be_visible()


def test_tables_reflow_into_labelled_rows_on_a_phone(phone):
    phone.goto("/sources/customers/")

    first_cell = phone.locator("table.table tbody tr").first.locator("td").first
    expect(first_cell).to_have_attribute("data-label", "Customer")
    assert phone.evaluate("getComputedStyle(document.querySelector('table.table tbody tr')).display") == "block"
