"""Read side of the dashboard home: key figures of a period against the previous one, through the analysis
selectors (never raw event queries), and the health of each source."""

from datetime import date, timedelta
from decimal import Decimal

from integrations.models import DataSource
from integrations.selectors import data_source_list_for_workspace

from .queries import period_build
from .selectors import analysis_overview

RANGE_CHOICES = (7, 30, 90)


def _change(now: float, before: float, *, points: bool = False) -> dict:
    """The change of a figure against the previous period: percent (or points for rates), and its direction."""
    if points:
        delta = round(now - before, 2)
        return {"delta": delta, "percent": None, "points": True, "direction": _direction(delta)}
    if not before:
        return {"delta": now - before, "percent": None, "points": False, "direction": "up" if now else "flat"}
    percent = round(100 * (now - before) / before, 1)
    return {"delta": now - before, "percent": percent, "points": False, "direction": _direction(percent)}


def _direction(value: float) -> str:
    return "up" if value > 0 else "down" if value < 0 else "flat"


def _kpis(current: dict, previous: dict) -> list[dict]:
    def figure(overview: dict) -> dict:
        return {
            "revenue": float(Decimal(overview["revenue"])),
            "orders": overview["orders"],
            "aov": float(Decimal(overview["averageOrderValue"])),
            "conversion": overview["funnel"]["overallConversion"],
            "active": overview["engagement"]["activeCustomers"],
            "events": overview["rowCounts"]["events"],
        }

    now, before = figure(current), figure(previous)
    rows = [
        ("revenue", "Revenue", "money"),
        ("orders", "Orders", "number"),
        ("aov", "Average order value", "money"),
        ("conversion", "Conversion rate", "percent"),
        ("active", "Active customers", "number"),
        ("events", "Events", "number"),
    ]
    return [
        {
            "key": key,
            "label": label,
            "kind": kind,
            "value": now[key],
            "previous": before[key],
            "change": _change(now[key], before[key], points=kind == "percent"),
        }
        for key, label, kind in rows
    ]


def dashboard_summary(*, workspace, date_from: date | None = None, date_to: date | None = None) -> dict:
    """The period's analysis with six key figures compared to the previous period of the same length."""
    period = period_build(date_from=date_from, date_to=date_to)
    current = analysis_overview(workspace=workspace, date_from=period.date_from, date_to=period.date_to)
    before = period.previous()
    previous = analysis_overview(workspace=workspace, date_from=before.date_from, date_to=before.date_to)
    return {
        "overview": current,
        "previousRange": before.as_dict(),
        "kpis": _kpis(current, previous),
    }


def source_health(*, workspace) -> list[dict]:
    """Each source with its status, when data last arrived and how many events it holds."""
    sources = data_source_list_for_workspace(workspace=workspace, with_counts=True)
    return [
        {
            "source": source,
            "healthy": source.status == DataSource.Status.ACTIVE and source.last_sync_status != "failed",
            "events": source.events_total,
        }
        for source in sources
    ]


def range_days(value: str | None) -> int:
    """The dashboard's quick range (7, 30 or 90 days; 30 when missing or unknown)."""
    try:
        days = int(value or 30)
    except ValueError:
        return 30
    return days if days in RANGE_CHOICES else 30


def quick_range(days: int, today: date) -> tuple[date, date]:
    return today - timedelta(days=days - 1), today
