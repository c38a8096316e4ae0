"""Identity stitching and product recommendations in the browser: a customer's page shows who was joined into it
and what to offer next; an editor undoes a merge and refreshes the recommendations from the page."""

import pytest
from playwright.sync_api import expect

from integrations.models import Customer, IdentityMerge

from .conftest import owner_register, sign_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def owner(transactional_db):
    return owner_register("intel@acme.test", demo_customers=300)


def test_a_customer_page_shows_its_merges_and_recommendations_and_an_editor_undoes_a_merge(
    page, live_asgi_server, owner
):
    merge = (
        IdentityMerge.objects.filter(workspace=owner.current_workspace, kind="anonymous", stitched_events__isnull=False)
        .distinct()
        .first()
    )
    assert merge is not None  # the demo data has visitors anonymous until checkout
    customer = Customer.objects.get(workspace=owner.current_workspace, customer_key=merge.customer_key)
    events_before = customer.event_count
    sign_in(page, owner, live_asgi_server)

    page.goto(f"/sources/customers/{customer.id}/")

    expect(page.get_by_role("heading", name="Recommended next")).to_be_visible()
    expect(page.locator(".recommendation-list li").first).to_be_visible()
    row = page.locator("#identities tr", has_text=merge.value)
    expect(row).to_contain_text("Anonymous visitor identified")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Undo").click()

    expect(page.locator("#identities tr", has_text=merge.value)).to_contain_text("Undone")
    merge.refresh_from_db()
    customer.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == owner
    assert customer.event_count < events_before


def test_the_segment_page_offers_products_and_queues_a_refresh_on_demand(page, live_asgi_server, owner):
    sign_in(page, owner, live_asgi_server)

    page.goto("/analytics/segments/repeat_customers/")
    block = page.locator("#product-recommendations")
    expect(block.get_by_role("heading", name="Products to offer this segment")).to_be_visible()
    expect(block.locator("li").first).to_contain_text("customers")
    with page.expect_response(lambda r: "/sources/recommendations/refresh/" in r.url) as answer:
        block.get_by_role("button", name="Refresh now").click()

    assert answer.value.status == 200
    expect(page.locator("#product-recommendations").get_by_role("heading")).to_have_text(
        "Products to offer this segment"
    )
