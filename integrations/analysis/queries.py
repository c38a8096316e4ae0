"""Query building blocks for the analysis: the rollups of a period, per-customer aggregates, segment rules.

Everything here returns lazy querysets or `Q` objects over the rollups (integrations/rollups.py), never over raw
events; the database does the counting. The per-customer queryset groups a period's `CustomerDayRollup` rows by
customer, and callers aggregate it again, which Django compiles into
`SELECT ... FROM (SELECT ... GROUP BY customer_id) subquery`.
"""

import operator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce

from django.db.models import (
    Aggregate,
    BigIntegerField,
    Case,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.models import CustomerDayRollup, Event, EventRollup, PurchaseRollup
from integrations.rollups import TYPE_BITS

PAGE_VIEW = Event.EventType.PAGE_VIEW
VIEW_ITEM = Event.EventType.VIEW_ITEM
ADD_TO_CART = Event.EventType.ADD_TO_CART
BEGIN_CHECKOUT = Event.EventType.BEGIN_CHECKOUT
PURCHASE = Event.EventType.PURCHASE

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
    """The analysis period: defaults to the last 30 days ending today; a start alone runs 30 days but not past
    today; `date_to` before `date_from` is an error."""
    today = timezone.localdate()
    if date_to is None:
        date_to = max(date_from, min(date_from + timedelta(days=DEFAULT_DAYS - 1), today)) if date_from else today
    date_from = date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_to < date_from:
        raise ValueError("`to` must not be before `from`.")
    return Period(date_from, date_to)


def event_rollups_in(*, workspace, period: Period, source_id: int | None = None) -> QuerySet[EventRollup]:
    """The workspace's day totals (`EventRollup` rows) of the period's days, optionally of one source."""
    rows = EventRollup.objects.filter(workspace=workspace, day__gte=period.date_from, day__lte=period.date_to)
    return rows.filter(source_id=source_id) if source_id is not None else rows


def customer_days_in(*, workspace, period: Period, source_id: int | None = None) -> QuerySet[CustomerDayRollup]:
    """The workspace's per-customer day rows (`CustomerDayRollup`) of the period's days, optionally of one source."""
    rows = CustomerDayRollup.objects.filter(workspace=workspace, day__gte=period.date_from, day__lte=period.date_to)
    return (rows.filter(source_id=source_id) if source_id is not None else rows).order_by()


def purchases_above(*, workspace, period: Period, source_id: int | None, threshold: Decimal) -> int:
    """Purchases of the period whose value is above the threshold (`PurchaseRollup`)."""
    rows = PurchaseRollup.objects.filter(
        workspace=workspace, day__gte=period.date_from, day__lte=period.date_to, value_cents__gt=cents(threshold)
    )
    if source_id is not None:
        rows = rows.filter(source_id=source_id)
    return rows.aggregate(n=Coalesce(Sum("purchases"), 0))["n"]


def cents(amount: Decimal) -> int:
    """A money amount (two decimals) in cents, the unit the rollups count money in."""
    return int(Decimal(amount) * 100)


def _bits(*types: str) -> int:
    return reduce(operator.or_, (TYPE_BITS[t] for t in types))


class MaskOr(Aggregate):
    """Bitwise OR of the rows' type masks (BIT_OR; on SQLite the function registered in integrations/apps.py)."""

    function = "BIT_OR"
    output_field = IntegerField()


class BitCount(Func):
    """Number of set bits of a type mask (distinct event types): bit_count (PostgreSQL 14+), one small node where
    portable integer arithmetic would repeat the mask expression once per bit (and Django rewrites every copy)."""

    output_field = IntegerField()
    template = "bit_count((%(expressions)s)::bit(32))::integer"

    def as_sqlite(self, compiler, connection, **extra_context):
        (mask,) = self.get_source_expressions()
        bits = [mask.bitrightshift(position).bitand(1) for position in range(len(TYPE_BITS))]
        return compiler.compile(reduce(operator.add, bits))


# One OR per customer carries both periods' masks: the previous period's bits sit above the current period's.
PREVIOUS_MASK_UNIT = 1 << 32
assert len(TYPE_BITS) < 32


def customer_flags(rows: QuerySet[CustomerDayRollup], *, current_from: date | None) -> QuerySet:
    """One row per identified customer over two adjacent periods (days from `current_from` on are the current
    period, earlier ones the previous period), with the fields the segment rules and the funnel read. With
    `current_from` None every row is of the current period and the rows have no previous-period fields.

    Per customer: the type mask, purchase count and value of the current period and the type mask of the previous
    one; the per-type presence fields are bits of the mask (`add_to_cart` is non-zero when the customer added to
    cart, not a count). Customers with only previous-period days have a zero mask (`event_types = 0`). Every
    event type has a bit, so a customer has events in the period exactly when its mask is not zero; the events
    themselves are counted by the day totals (`EventRollup.identified_events`), which saves this grouping of
    hundreds of thousands of customers an aggregate per row.
    """
    if current_from is None:
        return _current_flags(rows)
    current = Q(day__gte=current_from)
    # Few day rows have purchases: the value is summed over those only (a bigint sum keeps a numeric state), and
    # their test comes first so most rows skip the period's.
    purchased = Q(purchases__gt=0) & current
    rows = rows.values("customer_id").annotate(
        masks=MaskOr(
            Case(
                When(current, then=F("type_mask")),
                default=F("type_mask") * PREVIOUS_MASK_UNIT,
                output_field=BigIntegerField(),
            )
        ),
        # Before `purchases`: from there on, `purchases` in a filter names the per-customer sum.
        purchase_cents=Coalesce(Sum("purchase_cents", filter=purchased), 0),
        purchases=Coalesce(Sum("purchases", filter=purchased), 0),
    )
    return mask_fields(
        rows, mask=F("masks").bitand(PREVIOUS_MASK_UNIT - 1), previous_mask=F("masks") / PREVIOUS_MASK_UNIT
    )


def _current_flags(rows: QuerySet[CustomerDayRollup]) -> QuerySet:
    """`customer_flags` of rows that are all of the current period: without a previous period to tell apart,
    each row's fields are summed as they are (a long range's grouping spends a good part of its time on the
    per-row period tests)."""
    purchased = Q(purchases__gt=0)
    rows = rows.values("customer_id").annotate(
        mask=MaskOr("type_mask"),
        purchase_cents=Coalesce(Sum("purchase_cents", filter=purchased), 0),
        purchases=Coalesce(Sum("purchases", filter=purchased), 0),
    )
    return mask_fields(rows, with_previous=False)


def mask_fields(rows: QuerySet, *, mask=None, previous_mask=None, with_previous: bool = True) -> QuerySet:
    """Per-customer rows with `mask` and `previous_mask` (fields, or the given expressions) plus the fields the
    segment rules and funnel read; without `with_previous`, only those of the current period."""
    mask, previous_mask = mask or F("mask"), previous_mask or F("previous_mask")
    fields = {
        "event_types": BitCount(mask),
        "page_views": mask.bitand(TYPE_BITS[PAGE_VIEW]),
        "views": mask.bitand(_bits(PAGE_VIEW, VIEW_ITEM)),
        "add_to_cart": mask.bitand(TYPE_BITS[ADD_TO_CART]),
        "begin_checkout": mask.bitand(TYPE_BITS[BEGIN_CHECKOUT]),
    }
    if with_previous:
        fields |= {
            "previous_views": previous_mask.bitand(_bits(PAGE_VIEW, VIEW_ITEM)),
            "previous_add_to_cart": previous_mask.bitand(TYPE_BITS[ADD_TO_CART]),
            "previous_begin_checkout": previous_mask.bitand(TYPE_BITS[BEGIN_CHECKOUT]),
            "previous_purchases": previous_mask.bitand(TYPE_BITS[PURCHASE]),
        }
    return rows.annotate(**fields).order_by()


def customer_details(rows: QuerySet[CustomerDayRollup]) -> QuerySet:
    """One row per identified customer of the rows' days with the counts, values (cents) and times that segment
    audiences show as evidence; the same field names as `customer_flags`, with counts instead of bits."""
    return (
        rows.values("customer_id", customer_key=F("customer__customer_key"))
        .annotate(
            events=Sum("events"),
            mask=MaskOr("type_mask"),
            page_views=Sum("page_views"),
            add_to_cart=Sum("add_to_cart"),
            begin_checkout=Sum("begin_checkout"),
            purchases=Sum("purchases"),
            purchase_cents=Sum("purchase_cents"),
            cart_cents=Sum("cart_cents"),
            first_seen_at=Min("first_at"),
            last_seen_at=Max("last_at"),
            last_add_to_cart_at=Max("last_add_to_cart_at"),
            last_purchase_at=Max("last_purchase_at"),
        )
        .annotate(event_types=BitCount(F("mask")))
        .order_by()
    )


@dataclass(frozen=True)
class SegmentRule:
    name: str
    description: str
    rule: str

    def condition(self, *, threshold: Decimal) -> Q:
        """The rule as a filter over `customer_flags` / `customer_details` rows (HAVING or an outer FILTER)."""
        return {
            "cart_abandoners": Q(add_to_cart__gt=0, purchases=0),
            "potential_customers": Q(add_to_cart__gt=0, purchases=0) | Q(begin_checkout__gt=0, purchases=0),
            "high_value_customers": Q(purchase_cents__gt=cents(threshold)),
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
