"""A saved audience built in the browser: conditions added and switched in the page, saved, counted, shown."""

import pytest
from playwright.sync_api import expect

from accounts.services import user_register
from integrations.jobs import demo_data_ensure
from integrations.models import Audience, Customer

from .conftest import sign_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def owner(transactional_db):
    owner = user_register(
        email="aud@acme.test", password="Correct-Horse-42", first_name="Ada", last_name="Owner", company_name="Acme"
    )
    demo_data_ensure(workspace=owner.current_workspace, count=80)
    return owner


def test_an_audience_is_built_with_the_rule_builder_and_shows_its_members(page, live_asgi_server, owner):
    sign_in(page, owner, live_asgi_server)
    page.goto("/audiences/")
    page.get_by_role("link", name="Build your first audience").click()

    page.get_by_label("Name").fill("Buyers who came back")
    first = page.locator("[data-row]").first
    first.get_by_label("Condition type").select_option("event")
    expect(first.get_by_label("Event")).to_be_visible()  # the row switched to the event fields in place
    expect(first.get_by_label("Customer total")).to_be_hidden()
    first.get_by_label("Event").select_option("purchase")
    first.get_by_label("Days").fill("365")
    page.get_by_role("button", name="+ Add condition").click()
    second = page.locator("[data-row]").nth(1)
    second.get_by_label("Customer total").select_option("orders")
    second.get_by_label("Comparison").select_option("gte")
    second.get_by_label("Value").fill("1")
    page.get_by_role("button", name="Save audience").click()

    expect(page.get_by_role("heading", name="Buyers who came back")).to_be_visible()
    audience = Audience.objects.get()
    expected = Customer.objects.filter(workspace=owner.current_workspace, purchase_count__gte=1).count()
    assert audience.rules["conditions"][0] == {"type": "event", "eventType": "purchase", "op": "did", "days": 365}
    assert audience.size == expected > 0
    expect(page.locator(".audience-size")).to_contain_text(f"{expected:,} customer")
    expect(page.locator(".members-table tbody tr")).to_have_count(min(expected, 50))
    expect(page.locator("svg.time-chart")).to_be_visible()
