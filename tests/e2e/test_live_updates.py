"""Live updates in a real browser: a page changes without reload while another tab loads demo data."""

import threading
import time

import pytest
from playwright.sync_api import expect

from integrations.models import SyncJob

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


def test_a_job_card_says_live_when_the_job_prepares_the_dashboard_then_turns_done(
    page, owner, live_asgi_server, monkeypatch
):
    """The job runs in the server's thread (no worker); its upkeep waits until this page shows the job's card, and
    lasts long enough to be seen, so the card can only learn of it from the live event."""
    import integrations.jobs as jobs

    card_shown, real_upkeep, real_build = threading.Event(), jobs._dashboard_prepared, jobs.daysets_build

    def upkeep(job):
        assert card_shown.wait(timeout=20)
        real_upkeep(job)

    def slow_build(**kwargs):
        time.sleep(2)
        return real_build(**kwargs)

    monkeypatch.setattr(jobs, "_dashboard_prepared", upkeep)
    monkeypatch.setattr(jobs, "daysets_build", slow_build)
    sign_in(page, owner, live_asgi_server)
    page.goto("/sources/")
    expect(page.locator("body")).to_have_attribute("data-live", "on")
    other_tab = page.context.new_page()
    other_tab.goto("/sources/")
    other_tab.get_by_role("button", name="Google Tag Manager").click(no_wait_after=True)

    deadline = time.monotonic() + 20
    while not (job := SyncJob.objects.filter(workspace=owner.current_workspace).first()):
        assert time.monotonic() < deadline, "the job was never created"
        time.sleep(0.05)
    page.evaluate("id => htmx.ajax('GET', '/sources/jobs/' + id + '/', {target: 'main', swap: 'afterbegin'})", job.id)
    card = page.locator(f"#job-{job.id}")
    expect(card).to_be_visible()
    expect(card).not_to_contain_text("Preparing your dashboard")
    card_shown.set()

    expect(card).to_contain_text("Preparing your dashboard", timeout=15_000)
    expect(card.locator(".badge")).to_have_text("Done", timeout=15_000)
    expect(card).not_to_contain_text("Preparing your dashboard")
