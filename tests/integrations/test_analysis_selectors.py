"""analysis_overview on built datasets with known answers (segments, metrics, funnel, ranges, isolation)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from integrations.analysis.selectors import ENGAGEMENT_FORMULA, analysis_overview
from integrations.rollups import analysis_time_zone_set
from marketing_ai.errors import NotFound
from tests.integrations.analysis_data import FROM, TO, Events, at, source_create

pytestmark = pytest.mark.django_db


def overview(workspace, **kwargs):
    return analysis_overview(workspace=workspace, date_from=kwargs.pop("date_from", FROM), date_to=TO, **kwargs)


@pytest.fixture
def source(workspace):
    return source_create(workspace)


@pytest.fixture
def shop(workspace, source):
    """Seven identified customers with known segment membership, plus two anonymous page views."""
    events = Events(workspace, source)
    events.add("alice", "page_view").add("alice", "view_item").add("alice", "add_to_cart", "150")
    events.add("alice", "purchase", "150")
    events.add("bob", "page_view", times=3)
    events.add("carol", "view_item").add("carol", "add_to_cart", "30", times=2)
    events.add("dave", "purchase", "100.00")
    events.add("erin", "purchase", "100.01")
    events.add("frank", "purchase", "60").add("frank", "purchase", "50")
    events.add("gina", "page_view").add("gina", "add_to_cart", "20").add("gina", "begin_checkout", "20")
    events.add("", "page_view", times=2)
    events.save()
    return workspace


def counts(result):
    return {name: segment["count"] for name, segment in result["segments"].items()}


def test_each_segment_rule_counts_the_customers_it_describes(shop):
    result = overview(shop)

    assert result["segmentsEstimated"] is False
    assert counts(result) == {
        "cart_abandoners": 2,  # carol, gina
        "potential_customers": 2,  # every abandoner is also potential
        "high_value_customers": 3,  # alice 150, erin 100.01, frank 60+50; not dave at exactly 100
        "new_visitors": 1,  # bob: page views only
        "engaged_users": 2,  # alice (4 types), gina (3 types)
        "repeat_customers": 1,  # frank
    }


def test_a_purchase_total_exactly_at_the_threshold_is_not_high_value(workspace, source):
    Events(workspace, source).add("dave", "purchase", "100.00").add("dan", "purchase", "99.99").save()

    result = overview(workspace)

    assert result["segmentsEstimated"] is False
    assert result["segments"]["high_value_customers"]["count"] == 0


def test_one_cent_above_the_threshold_is_high_value(workspace, source):
    Events(workspace, source).add("dave", "purchase", "100.00").add("erin", "purchase", "100.01").save()

    assert overview(workspace)["segments"]["high_value_customers"]["count"] == 1


def test_the_threshold_is_the_workspace_setting(workspace, source):
    workspace.high_value_threshold = Decimal("500")
    workspace.save()
    Events(workspace, source).add("a", "purchase", "450").add("b", "purchase", "501").save()

    result = overview(workspace)

    assert result["segments"]["high_value_customers"]["count"] == 1
    assert result["highValueThreshold"] == "500.00"


def test_one_customer_can_be_in_several_segments(workspace, source):
    events = Events(workspace, source)
    events.add("gina", "page_view").add("gina", "add_to_cart").add("gina", "begin_checkout")
    events.add("other", "page_view")
    events.save()

    result = counts(overview(workspace))

    assert result["cart_abandoners"] == result["potential_customers"] == result["engaged_users"] == 1
    assert result["new_visitors"] == 1  # "other"; gina has three types, so she is not a new visitor


def test_a_visitor_with_page_views_and_a_search_is_not_a_new_visitor(workspace, source):
    Events(workspace, source).add("v", "page_view").add("v", "search").add("w", "page_view").save()

    assert overview(workspace)["segments"]["new_visitors"]["count"] == 1


def test_revenue_orders_and_average_order_value(shop):
    result = overview(shop)

    assert result["revenue"] == "460.01"
    assert result["orders"] == 5
    assert result["averageOrderValue"] == "92.00"
    assert result["currency"] == "EUR"
    assert result["rowCounts"] == {"events": 19, "customers": 7}
    assert result["eventsByType"] == {
        "page_view": 7,
        "purchase": 5,
        "add_to_cart": 4,
        "view_item": 2,
        "begin_checkout": 1,
    }


def test_events_by_source_and_the_source_filter(workspace, source):
    pixel = source_create(workspace, name="Pixel", source_type="facebook_pixel")
    events = Events(workspace, source)
    events.add("a", "purchase", "10").add("b", "page_view", source=pixel, times=3)
    events.save()

    everything = overview(workspace)
    only_pixel = overview(workspace, source_id=pixel.id)

    assert everything["eventsBySource"] == [
        {"sourceId": pixel.id, "name": "Pixel", "sourceType": "facebook_pixel", "count": 3},
        {"sourceId": source.id, "name": "Store", "sourceType": "shopify", "count": 1},
    ]
    assert only_pixel["rowCounts"] == {"events": 3, "customers": 1}
    assert only_pixel["revenue"] == "0.00"
    assert only_pixel["filters"] == {"source": {"id": pixel.id, "name": "Pixel"}}


def test_a_source_of_another_workspace_is_not_found(workspace, other_workspace_user):
    foreign = source_create(other_workspace_user.current_workspace)

    with pytest.raises(NotFound):
        overview(workspace, source_id=foreign.id)


def test_another_workspaces_events_are_never_counted(shop, other_workspace_user):
    other = other_workspace_user.current_workspace
    Events(other, source_create(other)).add("alice", "purchase", "999", times=3).save()

    result = overview(shop)

    assert result["rowCounts"]["events"] == 19
    assert result["revenue"] == "460.01"
    assert result["segments"]["repeat_customers"]["count"] == 1


def test_the_range_includes_the_whole_last_day_and_nothing_outside(workspace, source):
    events = Events(workspace, source)
    events.add("in-first", "page_view", when=at(FROM, 0))
    events.add("in-last", "page_view", when=datetime(2026, 3, 30, 23, 59, 59, tzinfo=UTC))
    events.add("before", "page_view", when=at(FROM, 0) - timedelta(seconds=1))
    events.add("after", "page_view", when=at(TO + timedelta(days=1), 0))
    events.save()

    result = overview(workspace)

    assert result["range"] == {"from": "2026-03-01", "to": "2026-03-30", "days": 30, "timeZone": "UTC"}
    assert result["rowCounts"] == {"events": 2, "customers": 2}


def test_the_default_range_is_the_last_thirty_days(workspace, source):
    from django.utils import timezone

    today = timezone.localdate()
    events = Events(workspace, source)
    events.add("recent", "page_view", when=at(today - timedelta(days=29), 1))
    events.add("old", "page_view", when=at(today - timedelta(days=30), 23))
    events.save()

    result = analysis_overview(workspace=workspace)

    assert result["range"]["to"] == today.isoformat()
    assert result["range"]["days"] == 30
    assert result["rowCounts"]["events"] == 1


def test_to_before_from_is_an_error(workspace):
    with pytest.raises(ValueError):
        analysis_overview(workspace=workspace, date_from=TO, date_to=FROM)


def test_the_time_series_has_every_day_with_zeros_between(workspace, source):
    events = Events(workspace, source)
    events.add("a", "page_view", when=at(FROM, 1)).add("a", "purchase", "12.50", when=at(FROM, 23))
    events.add("b", "purchase", "7.50", when=at(FROM + timedelta(days=2)))
    events.save()

    series = overview(workspace)["timeSeries"]

    assert len(series) == 30
    assert series[0] == {"date": "2026-03-01", "events": 2, "purchases": 1, "revenue": "12.50"}
    assert series[1] == {"date": "2026-03-02", "events": 0, "purchases": 0, "revenue": "0.00"}
    assert series[2] == {"date": "2026-03-03", "events": 1, "purchases": 1, "revenue": "7.50"}


def test_engagement_metrics_follow_the_documented_formula(shop):
    engagement = overview(shop)["engagement"]

    # 17 identified events over 7 customers; 13 distinct types in total; 2 engaged users.
    expected = 100 * (0.5 * (13 / 7) / 4 + 0.3 * (17 / 7) / 10 + 0.2 * 2 / 7)
    assert engagement == {
        "eventsPerCustomer": 2.43,
        "distinctTypesPerCustomer": 1.86,
        "activeCustomers": 7,
        "engagementScore": round(expected, 1),
        "formula": ENGAGEMENT_FORMULA,
    }


def test_without_identified_customers_segments_are_estimated_from_event_totals(workspace, source):
    events = Events(workspace, source)
    events.add("", "page_view", times=10).add("", "add_to_cart", "40", times=4).add("", "begin_checkout", times=2)
    events.add("", "purchase", "150").add("", "purchase", "100").add("", "purchase", "20")
    events.save()

    result = overview(workspace)

    assert result["segmentsEstimated"] is True
    assert "estimated" in result["estimationNote"]
    assert counts(result) == {
        "cart_abandoners": 1,  # 4 carts - 3 purchases
        "potential_customers": 1,
        "high_value_customers": 1,  # only the 150 purchase is above 100
        "new_visitors": 10,  # page views
        "engaged_users": 3,  # min(4 carts, max(2 checkouts, 3 purchases))
        "repeat_customers": 0,
    }
    assert result["engagement"]["activeCustomers"] == 0
    assert result["engagement"]["engagementScore"] == 0.0


def test_a_single_customer_key_also_gives_an_estimate(workspace, source):
    Events(workspace, source).add("only", "add_to_cart", times=3).add("only", "purchase", "5").save()

    result = overview(workspace)

    assert result["segmentsEstimated"] is True
    assert result["segments"]["cart_abandoners"]["count"] == 2


def test_an_empty_workspace_answers_zeros(workspace):
    result = overview(workspace)

    assert result["rowCounts"] == {"events": 0, "customers": 0}
    assert result["revenue"] == result["averageOrderValue"] == "0.00"
    assert result["funnel"]["overallConversion"] == 0.0
    assert all(step["conversionFromPrevious"] == 0.0 for step in result["funnel"]["steps"])


def test_cents_adding_up_to_exactly_the_threshold_are_not_high_value(workspace, source):
    # 83.76 + 9.04 + 7.20 is 100.00000000000001 in binary floating point; the rule must see exactly 100.
    events = Events(workspace, source)
    events.add("split", "purchase", "83.76").add("split", "purchase", "9.04").add("split", "purchase", "7.20")
    events.add("x", "page_view")
    events.save()

    result = overview(workspace)

    assert result["segments"]["high_value_customers"]["count"] == 0
    assert result["segments"]["repeat_customers"]["count"] == 1
    assert result["revenue"] == "100.00"


def test_customers_seen_only_in_the_previous_period_are_not_counted_in_this_one(workspace, source):
    workspace.high_value_threshold = Decimal("0")
    workspace.save()
    before = at(FROM - timedelta(days=3))
    events = Events(workspace, source)
    events.add("old", "page_view", when=before).add("old", "add_to_cart", "10", when=before)
    events.add("old", "begin_checkout", "10", when=before).add("old", "purchase", "10", when=before, times=2)
    events.add("now", "page_view").add("now", "add_to_cart", "10")
    events.add("again", "purchase", "5", when=before).add("again", "page_view")
    events.save()

    result = overview(workspace)

    assert result["rowCounts"]["customers"] == 2
    assert counts(result) == {
        "cart_abandoners": 1,  # now; old's cart was in the previous period
        "potential_customers": 1,
        "high_value_customers": 0,  # no purchase in this period, even above a zero threshold
        "new_visitors": 1,  # again: only a page view in this period
        "engaged_users": 0,
        "repeat_customers": 0,
    }
    assert result["engagement"]["activeCustomers"] == 2
    assert result["engagement"]["eventsPerCustomer"] == 1.5
    assert result["engagement"]["distinctTypesPerCustomer"] == 1.5
    previous = [step["customers"] for step in result["funnel"]["previousPeriod"]["steps"]]
    assert previous == [1, 1, 1, 2]  # old viewed, carted, checked out and bought; again bought


def test_every_event_type_counts_as_a_distinct_type(workspace, source):
    events = Events(workspace, source)
    for event_type in ("sign_up", "lead", "custom", "refund", "remove_from_cart", "add_payment_info"):
        events.add("all", event_type)
    events.add("pair", "lead").add("pair", "custom").add("pair", "custom")
    events.save()

    result = overview(workspace)

    assert result["engagement"]["distinctTypesPerCustomer"] == 4.0  # (6 + 2) / 2
    assert result["segments"]["engaged_users"]["count"] == 1


def test_days_and_the_range_follow_the_workspaces_analysis_time_zone(workspace, source):
    late_evening = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # Feb 28, 22:00 in New York
    events = Events(workspace, source)
    events.add("a", "purchase", "10", when=late_evening).add("b", "purchase", "20", when=at(FROM, hour=15))
    events.save()

    utc = overview(workspace)
    analysis_time_zone_set(workspace_id=workspace.id, time_zone="America/New_York")
    local = overview(workspace)

    assert (local["orders"], local["revenue"], local["timeSeries"][0]["revenue"]) == (1, "20.00", "20.00")
    assert (utc["orders"], utc["revenue"], utc["timeSeries"][0]["revenue"]) == (2, "30.00", "30.00")
    assert local["funnel"]["previousPeriod"]["steps"][3]["customers"] == 1  # a bought on Feb 28, local time
