"""The analytics pages: overview with cards, segments, SVG charts, filters, empty state; segment customers."""

import re

import pytest
from django.urls import reverse

from tests.integrations.analysis_data import Events, customer_create, source_create

pytestmark = pytest.mark.django_db

RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-30"}


@pytest.fixture
def source(workspace):
    return source_create(workspace)


@pytest.fixture
def shop(workspace, source):
    events = Events(workspace, source)
    events.add("carol", "page_view").add("carol", "add_to_cart", "30", times=2)
    events.add("buyer", "page_view").add("buyer", "add_to_cart").add("buyer", "purchase", "250")
    events.save()
    customer_create(workspace, "carol", email="carol@example.com", first_name="Carol")
    return workspace


def test_the_page_needs_a_signed_in_user(client):
    response = client.get(reverse("analytics:overview"))

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_workspace_without_events_gets_the_empty_state(logged_in_client):
    response = logged_in_client.get(reverse("analytics:overview"))

    assert response.status_code == 200
    assert "No events yet" in response.content.decode()


def test_the_page_shows_metrics_segments_and_svg_charts(logged_in_client, shop):
    response = logged_in_client.get(reverse("analytics:overview"), RANGE)

    html = response.content.decode()
    assert response.status_code == 200
    assert "€250.00" in html  # revenue card, in the data's currency and the workspace's locale
    assert 'id="segment-cart_abandoners"' in html
    assert '<svg class="chart funnel-chart"' in html
    assert '<svg class="chart time-chart"' in html and 'data-tip="' in html
    assert "<polyline" in html  # events per day, with the purchases as bars
    assert "/api/analytics/segments/cart_abandoners/customers/export?from=2026-03-01&amp;to=2026-03-30" in html
    assert "/api/analytics/segments/cart_abandoners/meta-audience?" in html
    assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", html)  # no asset from another host (CDN)


def test_a_to_date_before_the_from_date_is_a_422_with_the_error_inline(logged_in_client, shop):
    response = logged_in_client.get(reverse("analytics:overview"), {"date_from": "2026-03-30", "date_to": "2026-03-01"})

    assert response.status_code == 422
    assert "The end date is before the start date" in response.content.decode()


def test_a_start_date_in_the_future_is_a_422_with_a_clear_message(logged_in_client, shop):
    response = logged_in_client.get(reverse("analytics:overview"), {"date_from": "2999-01-01"})

    assert response.status_code == 422
    assert "The start date is in the future" in response.content.decode()


def test_another_workspaces_source_is_not_a_valid_filter(logged_in_client, shop, other_workspace_user):
    foreign = source_create(other_workspace_user.current_workspace)

    response = logged_in_client.get(reverse("analytics:overview"), {**RANGE, "source": foreign.id})

    assert response.status_code == 422


def test_an_htmx_filter_change_returns_only_the_body(logged_in_client, shop):
    response = logged_in_client.get(reverse("analytics:overview"), RANGE, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="analytics-body"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_the_segment_page_lists_customers_with_the_reason(logged_in_client, shop):
    url = reverse("analytics:segment-customers", args=["cart_abandoners"])

    response = logged_in_client.get(url, RANGE)

    html = response.content.decode()
    assert response.status_code == 200
    assert "carol@example.com" in html
    assert "Added to cart 2 time(s) and never purchased." in html
    assert "buyer" not in html


def test_the_segment_page_is_paginated(logged_in_client, workspace, source):
    events = Events(workspace, source)
    for n in range(55):
        events.add(f"visitor-{n:02d}", "page_view")
    events.save()
    url = reverse("analytics:segment-customers", args=["new_visitors"])

    first = logged_in_client.get(url, RANGE).content.decode()
    second = logged_in_client.get(url, {**RANGE, "page": 2}).content.decode()

    assert "55 customers · page 1 of 2" in first
    assert first.count("<code>visitor-") == 50
    assert second.count("<code>visitor-") == 5


def test_an_unknown_segment_page_is_a_404(logged_in_client):
    assert logged_in_client.get(reverse("analytics:segment-customers", args=["whales"])).status_code == 404
