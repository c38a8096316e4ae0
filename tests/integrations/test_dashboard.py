"""The dashboard home: key figures against the previous period, charts, segments, source health, empty state."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.analysis.dashboard import dashboard_summary, source_health
from integrations.models import SyncJob
from tests.integrations.analysis_data import FROM, TO, Events, at, source_create

pytestmark = pytest.mark.django_db

RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-30"}
BEFORE = date(2026, 2, 10)  # inside the previous 30 days (Jan 30 - Feb 28)


@pytest.fixture
def shop(workspace):
    source = source_create(workspace)
    events = Events(workspace, source)
    events.add("ann", "page_view").add("ann", "purchase", "100")
    events.add("bob", "page_view").add("bob", "add_to_cart").add("bob", "purchase", "50")
    events.add("cat", "page_view")
    events.add("ann", "page_view", when=at(BEFORE)).add("ann", "purchase", "60", when=at(BEFORE))
    events.save()
    return workspace


def test_key_figures_compare_the_period_with_the_previous_one(shop):
    kpis = {kpi["key"]: kpi for kpi in dashboard_summary(workspace=shop, date_from=FROM, date_to=TO)["kpis"]}

    assert (kpis["revenue"]["value"], kpis["revenue"]["previous"]) == (150.0, 60.0)
    assert kpis["revenue"]["change"] == {"delta": 90.0, "percent": 150.0, "points": False, "direction": "up"}
    assert (kpis["orders"]["value"], kpis["orders"]["previous"]) == (2, 1)
    assert (kpis["aov"]["value"], kpis["aov"]["previous"]) == (75.0, 60.0)
    assert kpis["active"]["value"] == 3 and kpis["events"]["value"] == 6
    assert kpis["conversion"]["change"]["points"] is True


def test_the_dashboard_shows_figures_charts_funnel_and_segments_linked_to_their_customers(logged_in_client, shop):
    response = logged_in_client.get(reverse("accounts:dashboard"), RANGE)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-kpi="revenue"' in html and "€150.00" in html and "150.0%" in html
    assert html.count('<svg class="chart time-chart"') == 2 and '<svg class="chart funnel-chart"' in html
    assert 'data-tip="Mar 10 · Revenue: €150.00"' in html  # hover value of the revenue line
    assert reverse("analytics:segment-customers", args=["repeat_customers"]) + "?date_from=2026-03-01" in html
    assert "Load demo data" not in html


def test_source_health_counts_each_sources_events_from_the_rollups_not_the_events_table(shop):
    with CaptureQueriesContext(connection) as captured:
        health = source_health(workspace=shop)

    assert [(row["source"].name, row["events"], row["healthy"]) for row in health] == [("Store", 8, True)]
    events_table = re.compile(r"integrations_event(?![a-z_])")
    assert not [query["sql"] for query in captured.captured_queries if events_table.search(query["sql"])]


def test_a_live_region_is_served_alone_to_htmx(logged_in_client, shop):
    response = logged_in_client.get(
        reverse("accounts:dashboard"), {**RANGE, "part": "dashboard-figures"}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="dashboard-figures"') and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_a_new_workspace_is_led_to_connect_a_source_or_load_demo_data(logged_in_client):
    html = logged_in_client.get(reverse("accounts:dashboard")).content.decode()

    assert "Connect a data source" in html and "Load demo data" in html
    assert "time-chart" not in html


def test_loading_demo_data_fills_the_dashboard_from_a_store_a_tag_and_a_pixel(
    logged_in_client, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        logged_in_client.post(reverse("integrations:demo-data"))
    response = logged_in_client.get(reverse("accounts:dashboard"))

    assert response.status_code == 200
    jobs = SyncJob.objects.filter(workspace=workspace, kind=SyncJob.Kind.DUMMY_DATA)
    assert sorted(job.source.source_type for job in jobs) == ["facebook_pixel", "gtm", "shopify"]
    assert all(job.status == SyncJob.Status.SUCCEEDED for job in jobs)
    assert 'data-kpi="revenue"' in response.content.decode()


def test_a_reversed_custom_range_is_a_422_with_a_clear_message(logged_in_client, shop):
    response = logged_in_client.get(reverse("accounts:dashboard"), {"date_from": "2026-03-30", "date_to": "2026-03-01"})

    assert response.status_code == 422
    assert "The end date is before the start date" in response.content.decode()
