"""The dashboard page's context, assembled from the apps' selectors (no queries of its own)."""

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from campaigns.selectors import campaign_top_for_workspace, recommendation_latest_for_workspace
from integrations.analysis.coverage import coverage_report
from integrations.analysis.dashboard import RANGE_CHOICES, dashboard_summary, quick_range, range_days, source_health
from integrations.analysis.forms import AnalysisFilterForm
from integrations.analysis.queries import SEGMENTS
from marketing_ai.charts import funnel_chart, time_chart

from .display import label, money_format, number_format
from .models import Membership
from .selectors import dashboard_counts_for_workspace


def _url_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _checklist(counts: dict) -> list[dict]:
    def count(key: str) -> int:
        return counts.get(key, {}).get("count", 0)

    steps = [
        ("Connect a data source", "Shopify, Google Tag Manager, the Meta Pixel or a CSV export.",
         _url_or_none("integrations:source-list"), count("sources") > 0),
        ("See your customers and funnel", "Segments, metrics and the funnel built from your events.",
         _url_or_none("analytics:overview"), count("events") > 0),
        ("Ask the AI assistant", "Questions about your numbers, answered live.",
         _url_or_none("chat:chat"), count("conversations") > 0),
        ("Launch a campaign", "Turn a recommendation into on-brand content and get it approved.",
         _url_or_none("campaigns:campaign-list"), count("campaigns") > 0),
    ]  # fmt: skip
    return [{"title": t, "text": x, "url": u, "done": d} for t, x, u, d in steps]


def _charts(overview: dict, money) -> dict:
    series = overview["timeSeries"]
    labels = [point["date"] for point in series]
    return {
        "revenue_chart": time_chart(
            title="Revenue per day",
            labels=labels,
            lines={"Revenue": [float(point["revenue"]) for point in series]},
            formats={"Revenue": money},
            axis_format=lambda value: money(value, whole=True),
        ),
        "orders_chart": time_chart(
            title="Orders per day",
            labels=labels,
            bars={"Orders": [point["purchases"] for point in series]},
        ),
        "funnel_chart": funnel_chart(overview["funnel"], value_format=money),
    }


def _segments(overview: dict, query: str) -> list[dict]:
    top = max((segment["count"] for segment in overview["segments"].values()), default=0) or 1
    return [
        {
            "name": name,
            "title": label(name),
            "count": segment["count"],
            "description": SEGMENTS[name].description if name in SEGMENTS else "",
            "share": round(100 * segment["count"] / top, 1),
            "url": reverse("analytics:segment-customers", args=[name]) + (f"?{query}" if query else ""),
        }
        for name, segment in sorted(overview["segments"].items(), key=lambda item: -item[1]["count"])
    ]


def dashboard_context(request: HttpRequest, *, membership: Membership) -> tuple[dict, int]:
    """Everything the dashboard shows for the range in the query (`days=7|30|90`, or `date_from`/`date_to`)."""
    workspace = membership.workspace
    counts = dashboard_counts_for_workspace(workspace=workspace)
    checklist = _checklist(counts)
    has_events = counts.get("events", {}).get("count", 0) > 0
    custom = bool(request.GET.get("date_from") or request.GET.get("date_to"))
    form = AnalysisFilterForm(request.GET if custom else None, workspace=workspace)
    days = range_days(request.GET.get("days"))
    context = {
        "membership": membership,
        "checklist": checklist,
        "done_count": sum(step["done"] for step in checklist),
        "has_events": has_events,
        "form": form,
        "days": None if custom else days,
        "range_choices": RANGE_CHOICES,
        "sources": source_health(workspace=workspace),
    }
    if custom and not form.is_valid():
        return context, 422
    if not has_events:
        return context, 200
    if custom:
        date_from, date_to = form.cleaned_data.get("date_from"), form.cleaned_data.get("date_to")
    else:
        date_from, date_to = quick_range(days, timezone.localdate())
    summary = dashboard_summary(workspace=workspace, date_from=date_from, date_to=date_to)
    context["coverage"] = coverage_report(workspace=workspace, date_from=date_from, date_to=date_to)
    overview = summary["overview"]
    currency, locale = overview["currency"], workspace.locale

    def money(value: float, whole: bool = False) -> str:
        return money_format(value, currency=currency, locale=locale, whole=whole)

    for kpi in summary["kpis"]:
        kpi["display"] = _display(kpi["kind"], kpi["value"], money=money, locale=locale)
        kpi["previous_display"] = _display(kpi["kind"], kpi["previous"], money=money, locale=locale)
    query = f"date_from={overview['range']['from']}&date_to={overview['range']['to']}"
    context.update(
        summary=summary,
        overview=overview,
        kpis=summary["kpis"],
        segments=_segments(overview, query),
        top_campaigns=campaign_top_for_workspace(
            workspace=workspace, date_from=overview["range"]["from"], date_to=overview["range"]["to"]
        ),
        recommendations=recommendation_latest_for_workspace(workspace=workspace),
        range_query=query,
        **_charts(overview, money),
    )
    return context, 200


def _display(kind: str, value: float, *, money, locale: str) -> str:
    if kind == "money":
        return money(value)
    if kind == "percent":
        return f"{number_format(value, locale=locale, digits=1)}%"
    return number_format(value, locale=locale)
