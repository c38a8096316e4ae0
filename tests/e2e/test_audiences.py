"""A saved audience built in the browser: conditions added and switched in the page, saved, counted, shown."""

import pytest
from playwright.sync_api import expect

from integrations.models import Audience, Customer

from .conftest import owner_register, sign_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def owner(transactional_db):
    return owner_register("aud@acme.test", demo_customers=80)


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


def test_an_admin_trains_predictions_in_the_browser_and_they_show_on_a_customer(page, live_asgi_server, settings):
    from ai.predictions.models import CustomerPrediction
    from tests.ai.prediction_data import histories_create

    settings.PREDICTIONS_MIN_CUSTOMERS = 60
    owner = owner_register("ml@acme.test", first_name="Mo", last_name="Del")
    histories_create(owner.current_workspace, customers=120)
    sign_in(page, owner, live_asgi_server)

    page.goto("/predictions/")
    expect(page.get_by_role("heading", name="No model yet")).to_be_visible()
    page.get_by_role("button", name="Train the model").click()

    expect(page.get_by_role("heading", name="How good is it?")).to_be_visible()
    expect(page.get_by_text("from recency alone").first).to_be_visible()
    top = CustomerPrediction.objects.exclude(confidence="insufficient").order_by("-purchase_30d", "customer_id").first()
    page.get_by_role("link", name=top.customer.customer_key).first.click()

    card = page.locator("#predictions")
    expect(card).to_contain_text(f"{round(100 * top.purchase_30d)}%")
    expect(card).to_contain_text("Chance to buy in the next 30 days")
    expect(card).to_contain_text(f"{top.get_confidence_display()} confidence")
