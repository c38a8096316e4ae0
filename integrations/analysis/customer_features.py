"""Per-customer behaviour features and outcomes as of a day, in SQL over the per-customer day rollups.

The prediction models (`ai.predictions`) read customers only through these two functions: one aggregate query each,
grouped by customer, over `CustomerDayRollup` (never raw events). Days are the workspace's analysis days.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Max, Min, Sum

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


# One aggregate per customer over the rollup rows of the year before `as_of`. Plain SQL rather than the ORM: the
# rescoring of one customer on new events runs this for a single customer, where building the ORM's aggregates
# cost more than the query. The same text serves SQLite and PostgreSQL.
FEATURES_SQL = """
SELECT customer_id,
    MAX(day) AS last_day,
    MIN(day) AS first_day,
    MAX(CASE WHEN purchases > 0 THEN day END) AS last_purchase_day,
    COUNT(DISTINCT day) AS active_days,
    SUM(CASE WHEN day >= %(since_30)s THEN events ELSE 0 END) AS events_30,
    SUM(CASE WHEN day >= %(since_60)s AND day < %(since_30)s THEN events ELSE 0 END) AS events_prev_30,
    SUM(events) AS events_365,
    SUM(CASE WHEN day >= %(since_90)s THEN purchases ELSE 0 END) AS purchases_90,
    SUM(purchases) AS purchases_365,
    SUM(CASE WHEN day >= %(since_90)s THEN purchase_cents ELSE 0 END) AS cents_90,
    SUM(purchase_cents) AS cents_365,
    SUM(CASE WHEN day >= %(since_90)s THEN page_views ELSE 0 END) AS page_views_90,
    SUM(CASE WHEN day >= %(since_90)s THEN add_to_cart ELSE 0 END) AS add_to_cart_90,
    SUM(CASE WHEN day >= %(since_90)s THEN begin_checkout ELSE 0 END) AS begin_checkout_90,
    SUM(CASE WHEN day >= %(since_90)s THEN events ELSE 0 END) AS events_90
FROM {table}
WHERE workspace_id = %(workspace)s AND day >= %(since_365)s AND day < %(as_of)s {customers}
GROUP BY customer_id
ORDER BY customer_id
"""


def customer_features(
    *, workspace_id: int, as_of: date, customer_ids: list[int] | None = None
) -> list[CustomerFeatures]:
    """Features of every customer active in the year before `as_of` (days before it only), or of these customers."""
    params: dict = {"workspace": workspace_id, "as_of": as_of}
    params |= {f"since_{days}": as_of - timedelta(days=days) for days in (30, 60, 90, HISTORY_DAYS)}
    customers = ""
    if customer_ids is not None:
        if not customer_ids:
            return []
        params |= {f"customer_{i}": customer_id for i, customer_id in enumerate(customer_ids)}
        customers = "AND customer_id IN (" + ", ".join(f"%(customer_{i})s" for i in range(len(customer_ids))) + ")"
    with connection.cursor() as cursor:
        cursor.execute(FEATURES_SQL.format(table=CustomerDayRollup._meta.db_table, customers=customers), params)
        names = [column[0] for column in cursor.description]
        return [_features_of(dict(zip(names, row, strict=True)), as_of) for row in cursor.fetchall()]


def _day(value) -> date | None:
    """A day column read through plain SQL: SQLite hands aggregates of dates back as ISO text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _features_of(row: dict, as_of: date) -> CustomerFeatures:
    purchases, cents = int(row["purchases_365"]), int(row["cents_365"])
    last_purchase_day = _day(row["last_purchase_day"])
    since_purchase = (as_of - last_purchase_day).days if last_purchase_day else NEVER
    values = [
        (as_of - _day(row["last_day"])).days,
        since_purchase,
        (as_of - _day(row["first_day"])).days,
        row["active_days"],
        row["events_30"],
        row["events_30"] - row["events_prev_30"],
        row["events_365"],
        row["purchases_90"],
        purchases,
        math.log1p(int(row["cents_90"]) / 100),
        math.log1p(cents / 100),
        math.log1p(cents / 100 / purchases) if purchases else 0.0,
        row["page_views_90"],
        row["add_to_cart_90"],
        row["begin_checkout_90"],
        (row["add_to_cart_90"] + row["begin_checkout_90"]) / row["events_90"] if row["events_90"] else 0.0,
    ]
    return CustomerFeatures(row["customer_id"], [float(v) for v in values], int(row["events_365"]), purchases, cents)


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
