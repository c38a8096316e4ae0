"""Read side of the analysis: overview, segments, engagement and funnel, from the rollups (never raw events).

`analysis_overview` runs a fixed number of small queries whatever the number of events: the period's and the
previous period's day totals (`EventRollup`, at most days x types x sources x currencies rows); for the segments,
engagement and funnel customers of both periods, for the dashboard's default range the default window's
signatures (a few hundred rows that stand for every customer, integrations/window.py), for other ranges the
customer day sets of their days (one row per day and source, integrations/daysets.py: unions of customer bitmaps)
or, while more than a couple of days lack one (right after an import), one aggregate of the per-customer day rows
(`CustomerDayRollup`); the sources' names, the workspace's analysis time zone, and, only for estimated segments,
the high-value purchases (`PurchaseRollup`).
"""

from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.daysets import daysets_read, daysets_summary
from integrations.models import DataSource
from integrations.rollups import analysis_time_zone
from integrations.window import window_signatures
from marketing_ai.errors import NotFound

from .queries import (
    ADD_TO_CART,
    BEGIN_CHECKOUT,
    FUNNEL_STEPS,
    PAGE_VIEW,
    PURCHASE,
    SEGMENTS,
    Period,
    cents,
    customer_days_in,
    customer_flags,
    event_rollups_in,
    period_build,
    purchases_above,
)

CENT = Decimal("0.01")

ENGAGEMENT_FORMULA = (
    "engagementScore = 100 * (0.5 * min(distinctTypesPerCustomer / 4, 1) "
    "+ 0.3 * min(eventsPerCustomer / 10, 1) + 0.2 * engagedUsers / activeCustomers), "
    "rounded to one decimal; 0 when there are no active customers"
)

ESTIMATION_NOTE = (
    "Fewer than two customers could be identified in this period, so segment sizes are estimated from event "
    "totals: cart_abandoners = potential_customers = max(add_to_cart - purchase, 0); high_value_customers = "
    "purchases whose value is above the threshold; new_visitors = page_view events; engaged_users = "
    "min(add_to_cart, max(begin_checkout, purchase)) (visitors who went view -> cart -> checkout/purchase); "
    "repeat_customers is the exact per-customer count."
)


def money(value) -> str:
    return str(Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP))


def rate(part: int, whole: int) -> float:
    """Percentage with two decimals; 0.0 when the base is zero."""
    return round(100.0 * part / whole, 2) if whole else 0.0


def source_for_analysis(*, workspace, source_id: int | None) -> DataSource | None:
    """The workspace's source used as a filter; NotFound for another workspace's (or an unknown) id."""
    if source_id is None:
        return None
    source = DataSource.objects.filter(workspace=workspace, id=source_id).first()
    if source is None:
        raise NotFound("Data source not found.")
    return source


def analysis_period(*, workspace, date_from: date | None = None, date_to: date | None = None) -> Period:
    """The analysis period of the workspace: its days (and "today") are in the workspace's analysis time zone."""
    with timezone.override(analysis_time_zone(workspace_id=workspace.id)):
        return period_build(date_from=date_from, date_to=date_to)


def analysis_overview(
    *, workspace, date_from: date | None = None, date_to: date | None = None, source_id: int | None = None
) -> dict:
    """The whole analysis of the workspace's events in the period as a JSON-ready camelCase dict (read-only).

    Days are those of the workspace's analysis time zone (`range.timeZone`). Raises ValueError when `date_to`
    is before `date_from` and NotFound for a source of another workspace.
    """
    zone = analysis_time_zone(workspace_id=workspace.id)
    with timezone.override(zone):
        period = period_build(date_from=date_from, date_to=date_to)
    source = source_for_analysis(workspace=workspace, source_id=source_id)
    summary = {"workspace": workspace, "period": period, "source_id": source_id}
    threshold = workspace.high_value_threshold
    with analytic_queries(customers_in_order=True):
        totals = _totals(**summary)
        signatures = window_signatures(workspace=workspace, period=period, zone=zone, source_id=source_id)
        if signatures is not None:
            per_customer, previous_customers = customer_summary_aggregate(
                signatures, threshold=threshold, weight="customer_count"
            )
        else:
            per_customer, previous_customers = _customer_summary_from_sets(
                workspace=workspace, totals=totals, threshold=threshold
            ) or _customer_summary(
                **summary, threshold=threshold, previous_identified=bool(totals["previous_identified_days"])
            )
        high_value_purchases = (
            purchases_above(workspace=workspace, period=period, source_id=source_id, threshold=threshold)
            if per_customer["customers"] <= 1
            else None
        )
    return overview_build(
        period=period,
        zone=zone,
        source=source,
        threshold=threshold,
        totals=totals,
        per_customer=per_customer,
        previous_customers=previous_customers,
        high_value_purchases=lambda: high_value_purchases,
    )


@contextmanager
def analytic_queries(*, customers_in_order: bool = False):
    """On PostgreSQL, run the aggregates in one transaction (one snapshot) with room to aggregate and without JIT;
    with `customers_in_order`, the per-customer aggregate groups sorted input instead of hashing.

    The default work_mem (4 MB) makes the per-customer aggregate spill to disk at a few hundred thousand
    customer days, and JIT compilation costs ~0.3 s per query here while saving nothing on these plans. A long
    range's per-customer aggregate holds most of the workspace's customers: a hash table of them is far larger
    than the CPU caches, while the customer-ordered covering index of the day rollups (`integ_customer_day_cover`)
    hands each customer's days over together and grouping them needs no table; a short range still reads the
    day index and sorts its few rows. The overview's other queries group nothing. Figures: bench/README.md
    "Custom ranges at 10M events".
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # set_config(name, value, true) is SET LOCAL: it ends with the transaction.
        cursor.execute(
            "SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true), "
            "set_config('enable_hashagg', %s, true)",
            ["off" if customers_in_order else "on"],
        )
        yield


def overview_build(
    *,
    period: Period,
    zone: str,
    source: DataSource | None,
    threshold: Decimal,
    totals: dict,
    per_customer: dict,
    previous_customers: dict,
    high_value_purchases: Callable[[], int],
) -> dict:
    """The overview dict from the period's totals (`_totals`) and customer summaries (`_customer_summary`)."""
    estimated = per_customer["customers"] <= 1
    segments = _segments(per_customer, totals, high_value_purchases, estimated=estimated)
    funnel = _funnel(per_customer, totals["steps"])
    previous = _funnel(previous_customers, totals["previous_steps"])
    revenue, orders = totals["revenue"], totals["orders"]
    return {
        "range": {**period.as_dict(), "timeZone": zone},
        "filters": {"source": {"id": source.id, "name": source.name} if source else None},
        "rowCounts": {"events": totals["events"], "customers": per_customer["customers"]},
        "eventsByType": totals["by_type"],
        "eventsBySource": totals["by_source"],
        "revenue": money(revenue),
        "orders": orders,
        "averageOrderValue": money(revenue / orders if orders else 0),
        "currency": totals["currency"],
        "timeSeries": totals["series"],
        "segments": segments,
        "segmentsEstimated": estimated,
        "estimationNote": ESTIMATION_NOTE if estimated else "",
        "highValueThreshold": money(threshold),
        "engagement": _engagement(per_customer, segments, identified_events=_identified_events(totals["steps"])),
        "funnel": {
            **funnel,
            "previousPeriod": {"range": period.previous().as_dict(), **previous},
            "change": _funnel_change(funnel, previous),
        },
    }


def _totals(*, workspace, period: Period, source_id: int | None) -> dict:
    """Everything that does not need per-customer grouping, from the day totals of both periods (`EventRollup`):
    totals, sources, the daily series, and the identified customers' events and value per funnel step in this
    and the previous period. At most days x types x sources x currencies rows, whatever the number of events."""
    both = Period(period.previous().date_from, period.date_to)
    rows = event_rollups_in(workspace=workspace, period=both, source_id=source_id).values_list(
        "day",
        "event_type",
        "source_id",
        "currency",
        "events",
        "value_cents",
        "identified_events",
        "identified_value_cents",
    )
    return totals_fold(rows, period=period)


def totals_fold(rows, *, period: Period) -> dict:
    """Fold (day, type, source, currency, events, value cents, identified events, identified value cents) rows
    of this and the previous period into the overview's totals, with the (day, source)s of each period that
    have identified events."""
    by_type: Counter = Counter()
    by_source: dict[int, int] = {}
    currencies: Counter = Counter()
    by_day: dict[date, list] = {}
    steps: dict[str, list] = {}
    previous_steps: dict[str, list] = {}
    revenue, orders = Decimal(0), 0
    identified_days: set[tuple] = set()
    previous_identified_days: set[tuple] = set()
    for day, event_type, source_id, currency, n, value_cents, identified_n, identified_cents in rows:
        current = day >= period.date_from
        if identified_n:
            (identified_days if current else previous_identified_days).add((day, source_id))
        step = (steps if current else previous_steps).setdefault(event_type, [0, Decimal(0)])
        step[0] += identified_n
        step[1] += Decimal(identified_cents) / 100
        if not current:
            continue
        value = Decimal(value_cents) / 100
        by_type[event_type] += n
        by_source[source_id] = by_source.get(source_id, 0) + n
        point = by_day.setdefault(day, [0, 0, Decimal(0)])
        point[0] += n
        if event_type == PURCHASE:
            revenue += value
            orders += n
            point[1] += n
            point[2] += value
            if currency:
                currencies[currency] += n
    currency = currencies.most_common(1)[0][0] if currencies else getattr(settings, "DEFAULT_CURRENCY", "USD")
    return {
        "events": sum(by_type.values()),
        "by_type": dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0]))),
        "by_source": _sources_named(by_source),
        "revenue": revenue,
        "orders": orders,
        "currency": currency,
        "series": _time_series(by_day, period),
        "steps": steps,
        "previous_steps": previous_steps,
        "identified_days": identified_days,
        "previous_identified_days": previous_identified_days,
    }


def _sources_named(counts: dict[int, int]) -> list[dict]:
    """Events per source, largest first, with the sources' names (one small query on the sources table)."""
    sources = DataSource.objects.filter(id__in=counts).only("name", "source_type").in_bulk() if counts else {}
    return [
        {"sourceId": id_, "name": sources[id_].name, "sourceType": sources[id_].source_type, "count": count}
        for id_, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def _time_series(by_day: dict[date, list], period: Period) -> list[dict]:
    """One point per day of the period; days without events are zeros."""
    series = []
    for offset in range(period.days):
        day = period.date_from + timedelta(days=offset)
        events, purchases, revenue = by_day.get(day, (0, 0, 0))
        series.append({"date": day.isoformat(), "events": events, "purchases": purchases, "revenue": money(revenue)})
    return series


def _customer_summary(
    *, workspace, period: Period, source_id: int | None, threshold: Decimal, previous_identified: bool
) -> tuple[dict, dict]:
    """Segment sizes, engagement and funnel customers of the period and funnel customers of the previous period,
    from ONE query: the per-customer rows of both periods (`customer_flags`) aggregated once more. Without
    identified events in the previous period (`previous_identified` False: a range reaching back before the
    workspace's, or the source's, first customers) no customer-day row there has any type, so only the period's
    rows are grouped."""
    if previous_identified:
        days, current_from = Period(period.previous().date_from, period.date_to), period.date_from
    else:
        days, current_from = period, None
    rows = customer_flags(
        customer_days_in(workspace=workspace, period=days, source_id=source_id), current_from=current_from
    )
    return customer_summary_aggregate(rows, threshold=threshold, with_previous=previous_identified)


def _customer_summary_from_sets(*, workspace, totals: dict, threshold: Decimal) -> tuple[dict, dict] | None:
    """`_customer_summary`'s answer from the day sets (integrations/daysets.py) of the days with identified
    events (the day totals say which) of both periods; None when too many days have no stored set yet."""
    current, previous = totals["identified_days"], totals["previous_identified_days"]
    try:
        sets = daysets_read(
            workspace_id=workspace.id, pairs=current | previous, missing_days_max=DAYSETS_MISSING_DAYS_MAX
        )
    except OverflowError:  # customer ids past 32 bits: no sets
        return None
    if sets is None:
        return None
    return daysets_summary(
        [sets[pair][0] for pair in current],
        [sets[pair][1] for pair in current],
        [sets[pair][0] for pair in previous],
        threshold_cents=cents(threshold),
    )


# Days without a stored day set (today's, or an import's before its job ends) are built from their rows in memory
# up to this many; past it the database groups the range's rows.
DAYSETS_MISSING_DAYS_MAX = 2


def _identified_events(steps: dict[str, list]) -> int:
    """Events of identified customers in `_totals`' per-type sums of a period."""
    return sum(events for events, _value in steps.values())


def customer_summary_aggregate(
    rows, *, threshold: Decimal, weight: str | None = None, with_previous: bool = True
) -> tuple[dict, dict]:
    """The summaries of this and the previous period from per-customer rows shaped like `customer_flags`, or
    from rows standing for `weight` customers each (the default window's signatures, integrations/window.py).
    Without `with_previous` the rows have no previous-period fields and the previous period has no customers."""

    def customers(condition: Q):
        if weight is None:
            return Count("event_types", filter=condition)
        return Coalesce(Sum(weight, filter=condition), 0)

    active = Q(event_types__gt=0)  # customers with events in the current period (every event type has a bit)
    types = F("event_types") if weight is None else F("event_types") * F(weight)
    aggregates = {
        "customers": customers(active),
        "types": Coalesce(Sum(types), 0),  # an inactive customer's 0 types add nothing
    }
    for key, _label, _types in FUNNEL_STEPS:
        field = STEP_FIELDS[key]
        aggregates[f"step_{key}"] = customers(Q(**{f"{field}__gt": 0}))
        if with_previous:
            aggregates[f"previous_step_{key}"] = customers(Q(**{f"previous_{field}__gt": 0}))
    for name, rule in SEGMENTS.items():
        aggregates[f"segment_{name}"] = customers(active & rule.condition(threshold=threshold))
    summary = rows.aggregate(**aggregates)
    # The mean in Python from exact integers: the same float whichever rows it came from.
    summary["avg_types"] = summary.pop("types") / summary["customers"] if summary["customers"] else None
    previous = {f"step_{key}": summary.pop(f"previous_step_{key}", 0) for key, _label, _types in FUNNEL_STEPS}
    return summary, previous


# Per-customer field of each funnel step in `customer_flags` rows (non-zero when the customer reached the step).
STEP_FIELDS = {
    "view": "views",
    "add_to_cart": "add_to_cart",
    "begin_checkout": "begin_checkout",
    "purchase": "purchases",
}


def _segments(summary: dict, totals: dict, high_value_purchases: Callable[[], int], *, estimated: bool) -> dict:
    if estimated:
        by_type = totals["by_type"]
        cart, checkout, purchases = (by_type.get(t, 0) for t in (ADD_TO_CART, BEGIN_CHECKOUT, PURCHASE))
        counts = {
            "cart_abandoners": max(cart - purchases, 0),
            "potential_customers": max(cart - purchases, 0),
            "high_value_customers": high_value_purchases(),
            "new_visitors": by_type.get(PAGE_VIEW, 0),
            "engaged_users": min(cart, max(checkout, purchases)),
            "repeat_customers": summary["segment_repeat_customers"],
        }
    else:
        counts = {name: summary[f"segment_{name}"] for name in SEGMENTS}
    return {
        name: {"count": counts[name], "description": rule.description, "rule": rule.rule}
        for name, rule in SEGMENTS.items()
    }


def _engagement(summary: dict, segments: dict, *, identified_events: int) -> dict:
    """Engagement metrics over identified customers (their events in the period from the day totals); the score's
    formula is ENGAGEMENT_FORMULA."""
    active = summary["customers"]
    events_per_customer = identified_events / active if active else 0.0
    types_per_customer = float(summary["avg_types"] or 0)
    engaged_share = segments["engaged_users"]["count"] / active if active else 0.0
    score = (
        100 * (0.5 * min(types_per_customer / 4, 1) + 0.3 * min(events_per_customer / 10, 1) + 0.2 * engaged_share)
        if active
        else 0.0
    )
    return {
        "eventsPerCustomer": round(events_per_customer, 2),
        "distinctTypesPerCustomer": round(types_per_customer, 2),
        "activeCustomers": active,
        "engagementScore": round(min(score, 100.0), 1),
        "formula": ENGAGEMENT_FORMULA,
    }


def _funnel(summary: dict, step_totals: dict[str, list]) -> dict:
    """Funnel steps with zero-safe step and overall conversion (percentages). A customer counts at every step
    whose event they have in the period; `events` and `value` are those steps' events of identified customers."""
    steps = []
    start = summary["step_view"]
    previous = None
    for key, label, types in FUNNEL_STEPS:
        customers = summary[f"step_{key}"]
        events = sum(step_totals.get(t, (0, 0))[0] for t in types)
        value = sum((step_totals.get(t, (0, Decimal(0)))[1] for t in types), Decimal(0))
        steps.append(
            {
                "step": key,
                "label": label,
                "eventTypes": list(types),
                "customers": customers,
                "events": events,
                "value": money(value),
                "conversionFromPrevious": rate(customers, previous if previous is not None else customers),
                "conversionFromStart": rate(customers, start),
            }
        )
        previous = customers
    return {"steps": steps, "overallConversion": rate(summary["step_purchase"], start)}


def _funnel_change(current: dict, previous: dict) -> dict:
    """Change against the previous period: customers per step (absolute and %) and conversion in points."""
    steps = []
    for now, before in zip(current["steps"], previous["steps"], strict=True):
        delta = now["customers"] - before["customers"]
        steps.append(
            {
                "step": now["step"],
                "customers": delta,
                "customersPercent": rate(delta, before["customers"]) if before["customers"] else None,
                "conversionFromStartPoints": round(now["conversionFromStart"] - before["conversionFromStart"], 2),
            }
        )
    return {
        "overallConversionPoints": round(current["overallConversion"] - previous["overallConversion"], 2),
        "steps": steps,
    }
