"""Query building blocks for the analysis: the scoped event queryset, per-customer aggregates, segment rules.

Everything here returns lazy querysets or `Q` objects; the database does the counting. The per-customer
queryset groups events by `customer_key` with conditional aggregation (`COUNT(*) FILTER (WHERE ...)` on
PostgreSQL, `COUNT(CASE WHEN ...)` on SQLite), and callers aggregate it again, which Django compiles into
`SELECT ... FROM (SELECT ... GROUP BY customer_key) subquery`.
"""

import operator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce

from django.db.models import (
    Aggregate,
    Count,
    DecimalField,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Least, Round, TruncDate
from django.utils import timezone

from integrations.models import Event

PAGE_VIEW = Event.EventType.PAGE_VIEW
VIEW_ITEM = Event.EventType.VIEW_ITEM
ADD_TO_CART = Event.EventType.ADD_TO_CART
BEGIN_CHECKOUT = Event.EventType.BEGIN_CHECKOUT
PURCHASE = Event.EventType.PURCHASE

ZERO_MONEY = Value(Decimal("0.00"), output_field=DecimalField(max_digits=16, decimal_places=2))

# Funnel steps: (key, label, event types that reach the step).
FUNNEL_STEPS = [
    ("view", "Viewed a page or product", (PAGE_VIEW, VIEW_ITEM)),
    ("add_to_cart", "Added to cart", (ADD_TO_CART,)),
    ("begin_checkout", "Began checkout", (BEGIN_CHECKOUT,)),
    ("purchase", "Purchased", (PURCHASE,)),
]


@dataclass(frozen=True)
class Period:
    """An inclusive range of calendar days in the current time zone."""

    date_from: date
    date_to: date

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.date_from, time.min))

    @property
    def end(self) -> datetime:
        """Exclusive upper bound: midnight after `date_to`, so the whole last day is included."""
        return timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min))

    def previous(self) -> "Period":
        """The period of the same length that ends the day before this one starts."""
        previous_to = self.date_from - timedelta(days=1)
        return Period(previous_to - timedelta(days=self.days - 1), previous_to)

    def as_dict(self) -> dict:
        return {"from": self.date_from.isoformat(), "to": self.date_to.isoformat(), "days": self.days}


DEFAULT_DAYS = 30


def period_build(*, date_from: date | None = None, date_to: date | None = None) -> Period:
    """The analysis period: defaults to the last 30 days ending today; `date_to` before `date_from` is an error."""
    date_to = date_to or (date_from + timedelta(days=DEFAULT_DAYS - 1) if date_from else timezone.localdate())
    date_from = date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_to < date_from:
        raise ValueError("`to` must not be before `from`.")
    return Period(date_from, date_to)


def events_in_period(*, workspace, period: Period, source_id: int | None = None) -> QuerySet[Event]:
    """The workspace's events that occurred within the period (optionally from one source)."""
    events = Event.objects.filter(workspace=workspace, occurred_at__gte=period.start, occurred_at__lt=period.end)
    if source_id is not None:
        events = events.filter(source_id=source_id)
    return events.order_by()


def events_in_days(*, workspace, period: Period, source_id: int | None = None) -> QuerySet[Event]:
    """`events_in_period` filtered on the event's local day (`day` annotation) instead of its time: the same
    events, but on PostgreSQL with a UTC time zone the filter and a grouping on `day` use the day index."""
    events = (
        Event.objects.filter(workspace=workspace)
        .annotate(day=TruncDate("occurred_at"))
        .filter(day__gte=period.date_from, day__lte=period.date_to)
    )
    if source_id is not None:
        events = events.filter(source_id=source_id)
    return events.order_by()


def _value_of(*types: str) -> Coalesce:
    """Sum of the events' values, rounded to cents: SQLite adds decimals as binary floats (83.76 + 9.04 + 7.20
    is 100.00000000000001 there), and the high-value rule compares this sum with the threshold."""
    condition = Q(event_type__in=types) if len(types) > 1 else Q(event_type=types[0])
    return Coalesce(Round(Sum("value", filter=condition), 2), ZERO_MONEY)


# Per-customer count column of each canonical event type; the funnel and segment rules read these names.
TYPE_COUNT_FIELDS = {
    PAGE_VIEW: "page_views",
    VIEW_ITEM: "view_items",
    ADD_TO_CART: "add_to_cart",
    BEGIN_CHECKOUT: "begin_checkout",
    PURCHASE: "purchases",
}
FUNNEL_TYPES = (PAGE_VIEW, VIEW_ITEM, ADD_TO_CART, BEGIN_CHECKOUT, PURCHASE)


def _count_field(event_type: str) -> str:
    return TYPE_COUNT_FIELDS.get(event_type, f"n_{event_type}")


def customer_aggregates(events: QuerySet[Event], *, funnel_only: bool = False) -> QuerySet:
    """One row per identified customer (non-empty `customer_key`) with the counts the segment rules read.

    Kept lean on purpose, since it runs over every event of the period: COUNT(*) per canonical type and a
    single numeric SUM (purchase value). Distinct event types are the number of non-zero per-type counts
    (`LEAST(n, 1)` summed per group): equal to COUNT(DISTINCT event_type) for the canonical types, without
    sorting every event by customer and type, so PostgreSQL keeps one parallel hash aggregate. The funnel's
    events and values per step come from the grouped totals query instead (see selectors._totals).
    """
    types = FUNNEL_TYPES if funnel_only else Event.EventType.values
    counts = {_count_field(t): Count("id", filter=Q(event_type=t)) for t in types}
    rows = (
        events.exclude(customer_key="")
        .values("customer_key")
        .annotate(events=Count("*"), **counts)
        .annotate(views=F("page_views") + F("view_items"))
    )
    if not funnel_only:
        flags = [Least(F(name), Value(1)) for name in counts]
        rows = rows.annotate(purchase_value=_value_of(PURCHASE), event_types=reduce(operator.add, flags))
    return rows.order_by()


# One bit per canonical event type: a customer's type mask is the OR of its events' bits, so which types it has
# (and how many distinct ones) come from a single aggregate instead of one filtered COUNT per type.
TYPE_BITS = {event_type: 1 << position for position, event_type in enumerate(Event.EventType.values)}
assert all(event_type.replace("_", "").isalpha() for event_type in TYPE_BITS)  # inlined in TypeBit's SQL


def _bits(*types: str) -> int:
    return reduce(operator.or_, (TYPE_BITS[t] for t in types))


class TypeBit(Func):
    """The event's type bit (0 for a type outside the canonical list), as one small SQL CASE.

    A single expression node rather than Case/When objects: the per-customer query repeats the mask in a
    dozen derived fields, and Django copies and rewrites every node of each repetition when it builds the
    query (tens of milliseconds for Case trees). The type names are the model's own constants."""

    template = (
        "CASE %(expressions)s "
        + " ".join(f"WHEN '{event_type}' THEN {bit}" for event_type, bit in TYPE_BITS.items())
        + " ELSE 0 END"
    )
    output_field = IntegerField()

    def __init__(self):
        super().__init__(F("event_type"))


class TypeMask(Aggregate):
    """Bitwise OR of the rows' type bits: BIT_OR on PostgreSQL; SUM(DISTINCT bit) on SQLite, which has no BIT_OR
    (the same number, since every type has its own power of two)."""

    function = "BIT_OR"
    output_field = IntegerField()

    def __init__(self, **extra):
        super().__init__(TypeBit(), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        summed = self.copy()
        summed.distinct = True
        return summed.as_sql(compiler, connection, function="SUM", **extra_context)


class BitCount(Func):
    """Number of set bits of a type mask (distinct event types): bit_count (PostgreSQL 14+), one small node where
    portable integer arithmetic would repeat the mask expression once per bit (and Django rewrites every copy)."""

    output_field = IntegerField()
    template = "bit_count((%(expressions)s)::bit(32))::integer"

    def as_sqlite(self, compiler, connection, **extra_context):
        (mask,) = self.get_source_expressions()
        bits = [mask.bitrightshift(position).bitand(1) for position in range(len(TYPE_BITS))]
        return compiler.compile(reduce(operator.add, bits))


def customer_flags(events: QuerySet[Event], *, current_from) -> QuerySet:
    """One row per identified customer over two adjacent periods (events at or after `current_from` are the
    current period, earlier ones the previous period), with the fields the segment rules and the funnel read.

    Built for speed over every event of both periods: per event row only a type-mask OR per period, a
    purchase count and a purchase value sum; the per-type presence fields are bits of the mask (`add_to_cart`
    is non-zero when the customer added to cart, not a count). Filtering on `customer_key > ''` (the same rows
    as `<> ''`) lets PostgreSQL read the covering (workspace, customer_key, event_type) index in customer order
    and group without hashing or touching the table. Customers with only previous-period events have
    `events = 0` and a zero current mask.
    """
    current, previous = Q(occurred_at__gte=current_from), Q(occurred_at__lt=current_from)
    bought = Q(event_type=PURCHASE) & current
    rows = (
        events.filter(customer_key__gt="")
        .values("customer_key")
        .annotate(
            # COUNT(occurred_at), a NOT NULL column of the index: COUNT(id) would need the table.
            events=Count("occurred_at", filter=current),
            mask=Coalesce(TypeMask(filter=current), 0),
            previous_mask=Coalesce(TypeMask(filter=previous), 0),
            purchases=Count("occurred_at", filter=bought),
            purchase_value=Coalesce(Round(Sum("value", filter=bought), 2), ZERO_MONEY),
        )
    )
    mask, previous_mask = F("mask"), F("previous_mask")
    return rows.annotate(
        event_types=BitCount(mask),
        page_views=mask.bitand(TYPE_BITS[PAGE_VIEW]),
        views=mask.bitand(_bits(PAGE_VIEW, VIEW_ITEM)),
        add_to_cart=mask.bitand(TYPE_BITS[ADD_TO_CART]),
        begin_checkout=mask.bitand(TYPE_BITS[BEGIN_CHECKOUT]),
        previous_views=previous_mask.bitand(_bits(PAGE_VIEW, VIEW_ITEM)),
        previous_add_to_cart=previous_mask.bitand(TYPE_BITS[ADD_TO_CART]),
        previous_begin_checkout=previous_mask.bitand(TYPE_BITS[BEGIN_CHECKOUT]),
        previous_purchases=previous_mask.bitand(TYPE_BITS[PURCHASE]),
    ).order_by()


def customer_detail_aggregates(events: QuerySet[Event]) -> QuerySet:
    """`customer_aggregates` plus the cart value and timestamps shown as evidence in segment audiences."""
    return customer_aggregates(events).annotate(
        cart_value=_value_of(ADD_TO_CART),
        first_seen_at=Min("occurred_at"),
        last_seen_at=Max("occurred_at"),
        last_add_to_cart_at=Max("occurred_at", filter=Q(event_type=ADD_TO_CART)),
        last_purchase_at=Max("occurred_at", filter=Q(event_type=PURCHASE)),
    )


@dataclass(frozen=True)
class SegmentRule:
    name: str
    description: str
    rule: str

    def condition(self, *, threshold: Decimal) -> Q:
        """The rule as a filter over `customer_aggregates` rows (compiled into HAVING / an outer FILTER)."""
        return {
            "cart_abandoners": Q(add_to_cart__gt=0, purchases=0),
            "potential_customers": Q(add_to_cart__gt=0, purchases=0) | Q(begin_checkout__gt=0, purchases=0),
            "high_value_customers": Q(purchase_value__gt=threshold),
            "new_visitors": Q(event_types=1, page_views__gt=0),
            "engaged_users": Q(event_types__gte=3),
            "repeat_customers": Q(purchases__gt=1),
        }[self.name]


SEGMENTS: dict[str, SegmentRule] = {
    rule.name: rule
    for rule in [
        SegmentRule(
            "cart_abandoners",
            "Added products to the cart but never purchased in the period.",
            "add_to_cart >= 1 and purchase = 0",
        ),
        SegmentRule(
            "potential_customers",
            "Showed purchase intent (cart or checkout) without buying; includes every cart abandoner.",
            "(add_to_cart >= 1 or begin_checkout >= 1) and purchase = 0",
        ),
        SegmentRule(
            "high_value_customers",
            "Spent more than the workspace's high-value threshold in the period.",
            "sum(purchase value) > high_value_threshold",
        ),
        SegmentRule(
            "new_visitors",
            "Only viewed pages: a single event type, page_view.",
            "distinct event types = 1 and that type is page_view",
        ),
        SegmentRule(
            "engaged_users",
            "Interacted in three or more different ways (event types).",
            "distinct event types >= 3",
        ),
        SegmentRule(
            "repeat_customers",
            "Purchased more than once in the period.",
            "purchase count > 1",
        ),
    ]
}
