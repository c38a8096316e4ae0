"""Live updates in a real browser: a page changes without reload while another tab loads demo data."""

import pytest
from playwright.sync_api import expect

from .conftest import owner_register, sign_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def owner(transactional_db):
    return owner_register("live@acme.test", first_name="Liv")


def test_the_sources_page_and_the_dashboard_update_live_while_another_tab_loads_demo_data(
    page, owner, live_asgi_server
):
    sign_in(page, owner, live_asgi_server)
    page.goto("/sources/")
    expect(page.locator("body")).to_have_attribute("data-live", "on")
    page.evaluate("window.notReloaded = true")
    dashboard = page.context.new_page()
    dashboard.goto("/dashboard/")
    expect(dashboard.locator("body")).to_have_attribute("data-live", "on")
    dashboard.evaluate("window.notReloaded = true")

    other_tab = page.context.new_page()
    other_tab.goto("/sources/")
    other_tab.get_by_role("button", name="Google Tag Manager").click()
    expect(other_tab.locator(".job .badge")).to_have_text("Done", timeout=20_000)

    expect(page.locator("#sources-live")).to_contain_text("Dummy gtm Data", timeout=15_000)
    assert page.evaluate("window.notReloaded") is True
    expect(dashboard.locator("#dashboard-sources")).to_contain_text("Dummy gtm Data", timeout=15_000)
    expect(dashboard.locator('[data-kpi="events"]')).to_be_visible(timeout=15_000)  # the empty state became figures
    assert dashboard.evaluate("window.notReloaded") is True
