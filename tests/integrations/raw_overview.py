"""The overview computed from raw events: the oracle the rollup path is tested against (and bench/analysis.py's
baseline). Not production code: the analysis reads rollups only (integrations/analysis/selectors.py).

Its queries scan the period's events under the workspace's analysis time zone (the period's bounds as instants,
days with TruncDate) and hand the same totals and per-customer summaries to the production `overview_build`,
so a difference can only come from what the rollups hold.
"""

from decimal import Decimal

from django.db.models import Aggregate, Count, DecimalField, F, Func, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Round, TruncDate
from django.utils import timezone

from integrations.analysis.queries import (
    PURCHASE,
    Period,
    mask_fields,
    period_build,
)
from integrations.analysis.selectors import (
    analytic_queries,
    customer_summary_aggregate,
    overview_build,
    source_for_analysis,
    totals_fold,
)
from integrations.models import Event
from integrations.rollups import TYPE_BIT_SQL, analysis_time_zone


class TypeBit(Func):
    """The event's type bit (0 for a type outside the canonical list)."""

    template = TYPE_BIT_SQL.replace("CASE event_type", "CASE %(expressions)s")
    output_field = IntegerField()

    def __init__(self):
        super().__init__(F("event_type"))


class TypeMask(Aggregate):
    """Bitwise OR of the events' type bits (BIT_OR; on SQLite the aggregate registered in integrations/apps.py)."""

    function = "BIT_OR"
    output_field = IntegerField()

    def __init__(self, **extra):
        super().__init__(TypeBit(), **extra)


def _cents(**extra) -> Coalesce:
    """Sum of the events' values in cents (rounded: SQLite adds decimals as binary floats)."""
    total = Sum(F("value") * 100, output_field=DecimalField(max_digits=20, decimal_places=2), **extra)
    return Coalesce(Round(total), Value(0), output_field=DecimalField(max_digits=20, decimal_places=0))


def events_in_period(*, workspace, period: Period, source_id: int | None = None) -> QuerySet[Event]:
    events = Event.objects.filter(workspace=workspace, occurred_at__gte=period.start, occurred_at__lt=period.end)
    return (events.filter(source_id=source_id) if source_id is not None else events).order_by()


def _totals(*, workspace, period: Period, source_id: int | None) -> dict:
    both = Period(period.previous().date_from, period.date_to)
    rows = (
        events_in_period(workspace=workspace, period=both, source_id=source_id)
        .annotate(day=TruncDate("occurred_at"))
        .values("day", "event_type", "source_id", "currency")
        .annotate(
            n=Count("*"),
            cents=_cents(),
            identified_n=Count("id", filter=~Q(customer_key="")),
            identified_cents=_cents(filter=~Q(customer_key="")),
        )
        .values_list("day", "event_type", "source_id", "currency", "n", "cents", "identified_n", "identified_cents")
        .order_by()
    )
    return totals_fold(((*row[:5], int(row[5]), row[6], int(row[7])) for row in rows), period=period)


def _customer_flags(events: QuerySet[Event], *, current_from) -> QuerySet:
    current, previous = Q(occurred_at__gte=current_from), Q(occurred_at__lt=current_from)
    bought = Q(event_type=PURCHASE) & current
    rows = (
        events.filter(customer_key__gt="")
        .values("customer_key")
        .annotate(
            mask=Coalesce(TypeMask(filter=current), 0),
            previous_mask=Coalesce(TypeMask(filter=previous), 0),
            purchases=Count("occurred_at", filter=bought),
            purchase_cents=_cents(filter=bought),
        )
    )
    return mask_fields(rows)


def _high_value_purchases(*, workspace, period: Period, source_id: int | None, threshold: Decimal) -> int:
    events = events_in_period(workspace=workspace, period=period, source_id=source_id)
    return events.filter(event_type=PURCHASE, value__gt=threshold).count()


def raw_overview(*, workspace, date_from=None, date_to=None, source_id=None) -> dict:
    """`analysis_overview` from the raw events of the workspace, in its analysis time zone."""
    zone = analysis_time_zone(workspace_id=workspace.id)
    threshold = workspace.high_value_threshold
    with timezone.override(zone):
        period = period_build(date_from=date_from, date_to=date_to)
        source = source_for_analysis(workspace=workspace, source_id=source_id)
        with analytic_queries():
            totals = _totals(workspace=workspace, period=period, source_id=source_id)
            both = Period(period.previous().date_from, period.date_to)
            rows = _customer_flags(
                events_in_period(workspace=workspace, period=both, source_id=source_id), current_from=period.start
            )
            per_customer, previous_customers = customer_summary_aggregate(rows, threshold=threshold)
            high_value = _high_value_purchases(
                workspace=workspace, period=period, source_id=source_id, threshold=threshold
            )
    return overview_build(
        period=period,
        zone=zone,
        source=source,
        threshold=threshold,
        totals=totals,
        per_customer=per_customer,
        previous_customers=previous_customers,
        high_value_purchases=lambda: high_value,
    )
