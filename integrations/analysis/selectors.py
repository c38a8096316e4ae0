"""Read side of the analysis (issue 4 part 1): overview, segments, engagement and funnel, computed in SQL.

`analysis_overview` runs a fixed number of queries whatever the number of events: one query over both periods
grouped by (day, type, source, currency, identified) for totals, sources, the daily series and the funnel's
events/values; one per-customer aggregate over both periods (segments, engagement, and funnel customers of this
and the previous period); the sources' names; plus the source filter's lookup and a few transaction-local
settings on PostgreSQL. Python only folds the few hundred grouped rows, never event rows.
"""

from collections import Counter
from concurrent import futures
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.models import DataSource
from marketing_ai.errors import NotFound

from .queries import (
    ADD_TO_CART,
    BEGIN_CHECKOUT,
    FUNNEL_STEPS,
    PAGE_VIEW,
    PURCHASE,
    SEGMENTS,
    ZERO_MONEY,
    Period,
    customer_flags,
    events_in_days,
    events_in_period,
    period_build,
)
from .side_by_side import in_snapshot, snapshot_share

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


def analysis_overview(
    *, workspace, date_from: date | None = None, date_to: date | None = None, source_id: int | None = None
) -> dict:
    """The whole analysis of the workspace's events in the period as a JSON-ready camelCase dict (read-only).

    Raises ValueError when `date_to` is before `date_from` and NotFound for a source of another workspace.
    """
    period = period_build(date_from=date_from, date_to=date_to)
    source = source_for_analysis(workspace=workspace, source_id=source_id)
    with analytic_queries() as side:
        return _overview(workspace=workspace, period=period, source=source, source_id=source_id, side=side)


# The time zone whose days the day index (migration 0005) is built on.
DAY_INDEX_TIME_ZONE = "UTC"


@contextmanager
def analytic_queries():
    """On PostgreSQL, run the aggregates in one transaction with room to aggregate and without JIT; yields a
    snapshot id for a side connection, or None.

    The default work_mem (4 MB) makes hash aggregates spill to disk, and JIT compilation costs ~0.3 s per query
    here while saving nothing on these plans. Outside any caller's transaction, the transaction shares its
    snapshot so that the totals can run beside the per-customer query (side_by_side.py); inside one (tests,
    ATOMIC_REQUESTS) the queries run one after the other. See bench/analysis.py --explain.
    """
    if connection.vendor != "postgresql":
        yield None
        return
    shareable = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        snapshot = snapshot_share(cursor) if shareable else None
        cursor.execute(
            # set_config(name, value, true) is SET LOCAL: it ends with the transaction.
            "SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true), "
            "set_config('enable_hashagg', 'off', true)"
        )
        if snapshot:
            # Side by side, the two queries already keep two cores busy; parallel workers on top only add
            # coordination (bench/analysis.py on 2 cores: ~15% slower at 1M events, ~4% at 5M).
            cursor.execute("SELECT set_config('max_parallel_workers_per_gather', '0', true)")
        yield snapshot


def _sorted_totals() -> bool:
    """Whether the totals can group in day-index order: the index is on UTC days (migration 0005)."""
    return timezone.get_current_timezone_name() == DAY_INDEX_TIME_ZONE


def _totals_settings(cursor) -> None:
    """Hash aggregation stays off (see below) only when the day index serves the current time zone; otherwise
    the totals hash their rows rather than sort every event."""
    if connection.vendor == "postgresql":
        cursor.execute("SELECT set_config('enable_hashagg', %s, true)", ["off" if _sorted_totals() else "on"])


def _overview(*, workspace, period: Period, source: DataSource | None, source_id: int | None, side: str | None) -> dict:
    """The two big queries read covering indexes in the order they group by (customers; day, type, source,
    currency), ~1.5-2.5x cheaper than hashing every event, but the planner's estimates prefer hashing; so
    `analytic_queries` switches hash aggregation off, and the totals switch it back on when the day index does
    not apply (a time zone other than UTC)."""
    threshold = workspace.high_value_threshold
    previous_period = period.previous()
    summary = {"workspace": workspace, "period": period, "source_id": source_id, "threshold": threshold}
    if side:
        # The totals (the shorter work) go to the side connection, whose setup then costs no time.
        side_totals = in_snapshot(side, _side_settings, _totals, **summary)
        try:
            per_customer, previous_customers = _customer_summary(**summary)
        except BaseException:
            futures.wait([side_totals])  # the side transaction ends before the one whose snapshot it uses
            raise
        totals = side_totals.result()
    else:
        per_customer, previous_customers = _customer_summary(**summary)
        if not _sorted_totals():
            with connection.cursor() as cursor:
                _totals_settings(cursor)
        totals = _totals(**summary)

    estimated = per_customer["customers"] <= 1
    segments = _segments(per_customer, totals, estimated=estimated)
    funnel = _funnel(per_customer, totals["steps"])
    previous = _funnel(previous_customers, totals["previous_steps"])
    revenue, orders = totals["revenue"], totals["orders"]
    return {
        "range": period.as_dict(),
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
        "engagement": _engagement(per_customer, segments),
        "funnel": {
            **funnel,
            "previousPeriod": {"range": previous_period.as_dict(), **previous},
            "change": _funnel_change(funnel, previous),
        },
    }


def _side_settings(cursor) -> None:
    """The side transaction's settings: those of `analytic_queries` and `_totals_settings`, in one statement."""
    cursor.execute(
        "SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true), "
        "set_config('enable_hashagg', %s, true), set_config('max_parallel_workers_per_gather', '0', true)",
        ["off" if _sorted_totals() else "on"],
    )


def _totals(*, workspace, period: Period, source_id: int | None, threshold: Decimal) -> dict:
    """Everything that does not need per-customer grouping, from ONE query over both periods grouped by
    (day, type, source, currency): totals, sources, the daily series, and the funnel's events and value per step
    in this and the previous period; the identified customers' share of those steps is the totals minus the
    anonymous events' (`_anonymous_steps`).

    The result has at most days x types x sources x currencies rows (hundreds for a month), whatever the number
    of events; folding those rows happens here. Filtering on the local day (the same events as the period's
    time bounds) and ordering like the day index lets PostgreSQL read that index in order and group without
    hashing or touching the table (migration 0005).
    """
    both = Period(period.previous().date_from, period.date_to)
    rows = (
        events_in_days(workspace=workspace, period=both, source_id=source_id)
        .values("day", "event_type", "source_id", "currency")
        .annotate(
            n=Count("*"),
            total=Coalesce(Sum("value"), ZERO_MONEY),
            above=Count("occurred_at", filter=Q(value__gt=threshold)),
        )
        .order_by("day", "event_type", "source_id", "currency")
    )
    anonymous = _anonymous_steps(workspace=workspace, period=period, source_id=source_id)
    by_type: Counter = Counter()
    by_source: dict[int, int] = {}
    currencies: Counter = Counter()
    by_day: dict[date, list] = {}
    steps: dict[str, list] = {}
    previous_steps: dict[str, list] = {}
    revenue, orders, high_value_purchases = Decimal(0), 0, 0
    for row in rows:
        day = row["day"] if isinstance(row["day"], date) else date.fromisoformat(str(row["day"]))
        current = day >= period.date_from
        step = (steps if current else previous_steps).setdefault(row["event_type"], [0, Decimal(0)])
        step[0] += row["n"]
        step[1] += row["total"]
        if not current:
            continue
        by_type[row["event_type"]] += row["n"]
        by_source[row["source_id"]] = by_source.get(row["source_id"], 0) + row["n"]
        point = by_day.setdefault(day, [0, 0, Decimal(0)])
        point[0] += row["n"]
        if row["event_type"] == PURCHASE:
            revenue += row["total"]
            orders += row["n"]
            high_value_purchases += row["above"]
            point[1] += row["n"]
            point[2] += row["total"]
            if row["currency"]:
                currencies[row["currency"]] += row["n"]
    for (event_type, current), (n, total) in anonymous.items():
        step = (steps if current else previous_steps).setdefault(event_type, [0, Decimal(0)])  # totals include them
        step[0] -= n
        step[1] -= total
    currency = currencies.most_common(1)[0][0] if currencies else getattr(settings, "DEFAULT_CURRENCY", "USD")
    return {
        "events": sum(by_type.values()),
        "by_type": dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0]))),
        "by_source": _sources_named(by_source),
        "revenue": revenue,
        "orders": orders,
        "high_value_purchases": high_value_purchases,
        "currency": currency,
        "series": _time_series(by_day, period),
        "steps": steps,
        "previous_steps": previous_steps,
    }


def _anonymous_steps(*, workspace, period: Period, source_id: int | None) -> dict[tuple[str, bool], tuple]:
    """Events and value of anonymous events (no customer key) per (type, in this period?) over both periods.

    Reads the `customer_key = ''` range of the covering customer index (a small share of the events)."""
    both = Period(period.previous().date_from, period.date_to)
    current = Q(occurred_at__gte=period.start)
    rows = (
        events_in_period(workspace=workspace, period=both, source_id=source_id)
        .filter(customer_key="")
        .values("event_type")
        .annotate(
            n=Count("occurred_at", filter=current),
            total=Coalesce(Sum("value", filter=current), ZERO_MONEY),
            previous_n=Count("occurred_at", filter=~current),
            previous_total=Coalesce(Sum("value", filter=~current), ZERO_MONEY),
        )
        .order_by("event_type")
    )
    steps = {}
    for row in rows:
        steps[(row["event_type"], True)] = (row["n"], row["total"])
        steps[(row["event_type"], False)] = (row["previous_n"], row["previous_total"])
    return steps


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


def _customer_summary(*, workspace, period: Period, source_id: int | None, threshold: Decimal) -> tuple[dict, dict]:
    """Segment sizes, engagement and funnel customers of the period and funnel customers of the previous period,
    from ONE query: the per-customer rows of both periods (`customer_flags`) aggregated once more."""
    both = Period(period.previous().date_from, period.date_to)
    rows = customer_flags(
        events_in_period(workspace=workspace, period=both, source_id=source_id), current_from=period.start
    )
    active = Q(events__gt=0)  # customers with events in the current period
    aggregates = {
        "customers": Count("customer_key", filter=active),
        "identified_events": Coalesce(Sum("events"), 0),
        "avg_types": Avg("event_types", filter=active),
    }
    for key, _label, _types in FUNNEL_STEPS:
        field = STEP_FIELDS[key]
        aggregates[f"step_{key}"] = Count("customer_key", filter=Q(**{f"{field}__gt": 0}))
        aggregates[f"previous_step_{key}"] = Count("customer_key", filter=Q(**{f"previous_{field}__gt": 0}))
    for name, rule in SEGMENTS.items():
        aggregates[f"segment_{name}"] = Count("customer_key", filter=active & rule.condition(threshold=threshold))
    summary = rows.aggregate(**aggregates)
    previous = {f"step_{key}": summary.pop(f"previous_step_{key}") for key, _label, _types in FUNNEL_STEPS}
    return summary, previous


# Per-customer field of each funnel step in `customer_flags` rows (non-zero when the customer reached the step).
STEP_FIELDS = {
    "view": "views",
    "add_to_cart": "add_to_cart",
    "begin_checkout": "begin_checkout",
    "purchase": "purchases",
}


def _segments(summary: dict, totals: dict, *, estimated: bool) -> dict:
    if estimated:
        by_type = totals["by_type"]
        cart, checkout, purchases = (by_type.get(t, 0) for t in (ADD_TO_CART, BEGIN_CHECKOUT, PURCHASE))
        counts = {
            "cart_abandoners": max(cart - purchases, 0),
            "potential_customers": max(cart - purchases, 0),
            "high_value_customers": totals["high_value_purchases"],
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


def _engagement(summary: dict, segments: dict) -> dict:
    """Engagement metrics over identified customers; the score's formula is ENGAGEMENT_FORMULA."""
    active = summary["customers"]
    events_per_customer = summary["identified_events"] / active if active else 0.0
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
