"""Per-customer behaviour features and outcomes as of a day, in SQL over the per-customer day rollups.

The prediction models (`ai.predictions`) read customers only through these two functions: one aggregate query each,
grouped by customer, over `CustomerDayRollup` (never raw events). Days are the workspace's analysis days.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import Coalesce

from integrations.models import CustomerDayRollup

HISTORY_DAYS = 365
NEVER = 999  # "days since" for something that never happened in the history window

FEATURE_NAMES = [
    "recency_days",
    "days_since_purchase",
    "tenure_days",
    "active_days",
    "events_30",
    "events_trend",
    "events_365",
    "purchases_90",
    "purchases_365",
    "log_value_90",
    "log_value_365",
    "log_order_value",
    "page_views_90",
    "add_to_cart_90",
    "begin_checkout_90",
    "cart_share_90",
]


@dataclass(frozen=True)
class CustomerFeatures:
    customer_id: int
    values: list[float]
    events: int  # events behind the features (how much data backs a prediction)
    purchases: int
    purchase_cents: int


def _window(as_of: date, days: int, until: int = 0) -> Q:
    return Q(day__gte=as_of - timedelta(days=days), day__lt=as_of - timedelta(days=until))


def customer_features(
    *, workspace_id: int, as_of: date, customer_ids: list[int] | None = None
) -> list[CustomerFeatures]:
    """Features of every customer active in the year before `as_of` (days before it only), or of these customers."""
    rows = CustomerDayRollup.objects.filter(
        workspace_id=workspace_id, day__lt=as_of, day__gte=as_of - timedelta(days=HISTORY_DAYS)
    )
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=customer_ids)
    recent90 = _window(as_of, 90)
    aggregates = (
        rows.order_by()
        .values("customer_id")
        .annotate(
            last_day=Max("day"),
            first_day=Min("day"),
            last_purchase_day=Max("day", filter=Q(purchases__gt=0)),
            active_days=Count("day", distinct=True),
            events_30=Coalesce(Sum("events", filter=_window(as_of, 30)), 0),
            events_prev_30=Coalesce(Sum("events", filter=_window(as_of, 60, until=30)), 0),
            events_365=Coalesce(Sum("events"), 0),
            purchases_90=Coalesce(Sum("purchases", filter=recent90), 0),
            purchases_365=Coalesce(Sum("purchases"), 0),
            cents_90=Coalesce(Sum("purchase_cents", filter=recent90), 0),
            cents_365=Coalesce(Sum("purchase_cents"), 0),
            page_views_90=Coalesce(Sum("page_views", filter=recent90), 0),
            add_to_cart_90=Coalesce(Sum("add_to_cart", filter=recent90), 0),
            begin_checkout_90=Coalesce(Sum("begin_checkout", filter=recent90), 0),
            events_90=Coalesce(Sum("events", filter=recent90), 0),
        )
        .order_by("customer_id")
    )
    return [_features_of(row, as_of) for row in aggregates]


def _features_of(row: dict, as_of: date) -> CustomerFeatures:
    purchases, cents = row["purchases_365"], row["cents_365"]
    since_purchase = (as_of - row["last_purchase_day"]).days if row["last_purchase_day"] else NEVER
    values = [
        (as_of - row["last_day"]).days,
        since_purchase,
        (as_of - row["first_day"]).days,
        row["active_days"],
        row["events_30"],
        row["events_30"] - row["events_prev_30"],
        row["events_365"],
        row["purchases_90"],
        purchases,
        math.log1p(row["cents_90"] / 100),
        math.log1p(cents / 100),
        math.log1p(cents / 100 / purchases) if purchases else 0.0,
        row["page_views_90"],
        row["add_to_cart_90"],
        row["begin_checkout_90"],
        (row["add_to_cart_90"] + row["begin_checkout_90"]) / row["events_90"] if row["events_90"] else 0.0,
    ]
    return CustomerFeatures(row["customer_id"], [float(v) for v in values], row["events_365"], purchases, cents)


def customer_outcomes(*, workspace_id: int, start: date, end: date) -> dict[int, tuple[int, int, int]]:
    """Per customer active in [start, end): (events, purchases, purchase cents) of those days."""
    rows = (
        CustomerDayRollup.objects.filter(workspace_id=workspace_id, day__gte=start, day__lt=end)
        .order_by()
        .values("customer_id")
        .annotate(events=Sum("events"), purchases=Sum("purchases"), cents=Sum("purchase_cents"))
    )
    return {row["customer_id"]: (row["events"], row["purchases"], row["cents"]) for row in rows}


def history_span(*, workspace_id: int) -> tuple[date, date] | None:
    """The first and last analysis day with events of identified customers, or None without any."""
    span = CustomerDayRollup.objects.filter(workspace_id=workspace_id).aggregate(first=Min("day"), last=Max("day"))
    return (span["first"], span["last"]) if span["first"] else None
