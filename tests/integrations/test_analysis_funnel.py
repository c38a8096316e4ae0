"""The conversion funnel: customers per step, zero-safe rates, value per step, change vs the previous period."""

from datetime import timedelta

import pytest

from integrations.analysis.selectors import analysis_overview
from tests.integrations.analysis_data import FROM, TO, Events, at, source_create

pytestmark = pytest.mark.django_db

PREVIOUS_DAY = at(FROM - timedelta(days=5))  # inside the previous 30-day period (Jan 30 - Feb 28)


@pytest.fixture
def source(workspace):
    return source_create(workspace)


def funnel_of(workspace):
    return analysis_overview(workspace=workspace, date_from=FROM, date_to=TO)["funnel"]


def steps_by_name(funnel):
    return {step["step"]: step for step in funnel["steps"]}


@pytest.fixture
def shoppers(workspace, source):
    """Ten viewers (page_view or view_item), five add to cart, two check out, one buys for 80."""
    events = Events(workspace, source)
    for n in range(10):
        events.add(f"c{n}", "page_view" if n % 2 else "view_item")
    for n in range(5):
        events.add(f"c{n}", "add_to_cart", "40")
    for n in range(2):
        events.add(f"c{n}", "begin_checkout", "40")
    events.add("c0", "purchase", "80")
    # Last period: four viewers, two carts, two purchases.
    for n in range(4):
        events.add(f"p{n}", "page_view", when=PREVIOUS_DAY)
    for n in range(2):
        events.add(f"p{n}", "add_to_cart", when=PREVIOUS_DAY).add(f"p{n}", "purchase", "10", when=PREVIOUS_DAY)
    events.save()
    return workspace


def test_customers_value_and_conversion_at_each_step(shoppers):
    funnel = funnel_of(shoppers)

    assert [(s["step"], s["customers"], s["events"], s["value"]) for s in funnel["steps"]] == [
        ("view", 10, 10, "0.00"),
        ("add_to_cart", 5, 5, "200.00"),
        ("begin_checkout", 2, 2, "80.00"),
        ("purchase", 1, 1, "80.00"),
    ]
    assert [s["conversionFromPrevious"] for s in funnel["steps"]] == [100.0, 50.0, 40.0, 50.0]
    assert [s["conversionFromStart"] for s in funnel["steps"]] == [100.0, 50.0, 20.0, 10.0]
    assert funnel["overallConversion"] == 10.0


def test_a_customer_with_many_events_of_a_step_counts_once(workspace, source):
    Events(workspace, source).add("x", "page_view", times=5).add("x", "add_to_cart", times=3).save()

    steps = steps_by_name(funnel_of(workspace))

    assert steps["view"]["customers"] == 1
    assert steps["view"]["events"] == 5
    assert steps["add_to_cart"]["conversionFromPrevious"] == 100.0


def test_rates_are_zero_when_a_step_has_no_customers(workspace, source):
    Events(workspace, source).add("buyer", "purchase", "10").add("other", "add_to_cart").save()

    funnel = funnel_of(workspace)
    steps = steps_by_name(funnel)

    assert steps["view"]["customers"] == 0
    assert steps["add_to_cart"]["conversionFromPrevious"] == 0.0  # 1 of 0 viewers: zero-safe, no division error
    assert steps["begin_checkout"]["conversionFromPrevious"] == 0.0
    assert steps["purchase"]["conversionFromPrevious"] == 0.0  # 1 of 0 checkouts
    assert funnel["overallConversion"] == 0.0


def test_the_previous_period_has_the_same_length_and_ends_the_day_before(shoppers):
    previous = funnel_of(shoppers)["previousPeriod"]

    assert previous["range"] == {"from": "2026-01-30", "to": "2026-02-28", "days": 30}
    assert [s["customers"] for s in previous["steps"]] == [4, 2, 0, 2]
    assert previous["overallConversion"] == 50.0


def test_change_against_the_previous_period(shoppers):
    change = funnel_of(shoppers)["change"]

    assert change["overallConversionPoints"] == -40.0  # 10 % now, 50 % before
    assert change["steps"][0] == {
        "step": "view",
        "customers": 6,
        "customersPercent": 150.0,
        "conversionFromStartPoints": 0.0,
    }
    assert change["steps"][2]["customersPercent"] is None  # nobody checked out before: no percentage


def test_the_previous_period_respects_the_source_filter(shoppers, source):
    pixel = source_create(shoppers, name="Pixel", source_type="facebook_pixel")
    Events(shoppers, pixel).add("z", "page_view", when=PREVIOUS_DAY).save()

    funnel = analysis_overview(workspace=shoppers, date_from=FROM, date_to=TO, source_id=pixel.id)["funnel"]

    assert funnel["previousPeriod"]["steps"][0]["customers"] == 1
    assert funnel["steps"][0]["customers"] == 0


def make_many(workspace, source, n):
    events = Events(workspace, source)
    for i in range(n):
        key = f"k{i % 37}"
        events.add(key, ["page_view", "add_to_cart", "purchase"][i % 3], "5", when=at(FROM + timedelta(days=i % 20)))
    events.save()


@pytest.mark.parametrize("n", [30, 600])
def test_the_number_of_queries_does_not_grow_with_events(workspace, source, n, django_assert_max_num_queries):
    make_many(workspace, source, n)

    with django_assert_max_num_queries(9):
        result = analysis_overview(workspace=workspace, date_from=FROM, date_to=TO, source_id=source.id)

    assert result["rowCounts"]["events"] == n


def test_anonymous_events_count_in_totals_but_not_in_the_funnel_steps(shoppers, source):
    events = Events(shoppers, source)
    events.add("", "page_view", times=3).add("", "add_to_cart", "25", times=2).add("", "purchase", "99")
    events.add("", "add_to_cart", "7", when=PREVIOUS_DAY).add("", "purchase", "5", when=PREVIOUS_DAY)
    events.save()

    result = analysis_overview(workspace=shoppers, date_from=FROM, date_to=TO)
    funnel = result["funnel"]

    assert [(s["step"], s["customers"], s["events"], s["value"]) for s in funnel["steps"]] == [
        ("view", 10, 10, "0.00"),
        ("add_to_cart", 5, 5, "200.00"),
        ("begin_checkout", 2, 2, "80.00"),
        ("purchase", 1, 1, "80.00"),
    ]
    previous = [(s["customers"], s["events"], s["value"]) for s in funnel["previousPeriod"]["steps"]]
    assert previous == [(4, 4, "0.00"), (2, 2, "0.00"), (0, 0, "0.00"), (2, 2, "20.00")]
    assert result["eventsByType"]["add_to_cart"] == 7  # 5 identified + 2 anonymous
    assert result["revenue"] == "179.00"
