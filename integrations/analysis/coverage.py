"""The coverage report: which sources saw each purchase, and a plain-language diagnosis of what they miss.

A purchase is matched across sources by its order id: the Shopify order's id, the GA4 `purchase`'s
transaction id, the Meta `Purchase`'s order id (its event id is the order id). The browser an order was
placed in (from any source that saw it) explains where a tracker loses orders. Per source, the counters
kept at ingest (duplicates dropped, rejected events, webhook signature failures, last event) complete it.
"""

from datetime import date
from decimal import Decimal

from django.db.models import Case, Max, TextField, When
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Substr

from integrations.models import DataSource, Event

from .queries import PURCHASE, period_build

MISSING_LIST = 20
META_PURCHASE = "Purchase:"
COMPLETE_SHARE = 97.0  # at or above: the source sees (nearly) every order
SOURCE_NAMES = {"shopify": "Shopify store", "gtm": "GA4 tag", "facebook_pixel": "Meta Pixel", "csv": "CSV import"}


def browser_of(agent: str) -> str:
    """The browser family of a User-Agent string, in the words a marketer uses."""
    agent = agent or ""
    if not agent:
        return "unknown"
    if "Edg/" in agent:
        return "Edge"
    if "Firefox" in agent:
        return "Firefox"
    if "Chrome" in agent or "CriOS" in agent:
        return "Chrome"
    if "Safari" in agent or "iPhone" in agent or "iPad" in agent or "Macintosh" in agent:
        return "Safari"
    return "another browser"


def _purchase_rows(*, workspace, date_from: date | None, date_to: date | None):
    period = period_build(date_from=date_from, date_to=date_to)
    # Meta's Purchase carries the order id as its event id ("Purchase:<order id>") when custom_data has none.
    meta_event_id = Case(
        When(external_id__startswith=META_PURCHASE, then=Substr("external_id", len(META_PURCHASE) + 1))
    )
    order = Coalesce(
        KT("properties__order_id"), KT("properties__transaction_id"), meta_event_id, output_field=TextField()
    )
    rows = (
        # Purchases only (a small share of the events), matched by order id, which the rollups do not keep.
        Event.objects.filter(
            workspace=workspace, event_type=PURCHASE, occurred_at__gte=period.start, occurred_at__lt=period.end
        )
        .annotate(order=order)
        .exclude(order__isnull=True)
        .exclude(order="")
        .values("order", "source_id")
        .annotate(value=Max("value"), agent=Max(KT("properties__user_agent")), at=Max("occurred_at"))
        .order_by()
    )
    return period, rows


def coverage_report(*, workspace, date_from: date | None = None, date_to: date | None = None) -> dict:
    """Orders of the period seen by each source: share of orders and of value, what each misses and why."""
    period, rows = _purchase_rows(workspace=workspace, date_from=date_from, date_to=date_to)
    orders: dict[str, dict] = {}
    for row in rows:
        order = orders.setdefault(row["order"], {"sources": set(), "value": Decimal(0), "agent": "", "at": None})
        order["sources"].add(row["source_id"])
        order["value"] = max(order["value"], row["value"] or Decimal(0))
        order["agent"] = order["agent"] or row["agent"] or ""
        order["at"] = max(filter(None, [order["at"], row["at"]]), default=None)
    sources = list(
        DataSource.objects.filter(workspace=workspace).exclude(source_type=DataSource.SourceType.CSV).order_by("id")
    )
    total_orders = len(orders)
    total_value = sum((order["value"] for order in orders.values()), Decimal(0))
    per_source = [_source_row(source, orders, total_orders, total_value) for source in sources]
    return {
        "range": period.as_dict(),
        "orders": total_orders,
        "value": total_value,
        "sources": per_source,
        "diagnosis": _diagnosis(per_source, total_orders),
        "missing": _missing(orders, sources),
    }


def _source_row(source: DataSource, orders: dict, total_orders: int, total_value: Decimal) -> dict:
    seen = [order for order in orders.values() if source.id in order["sources"]]
    missed = [order for order in orders.values() if source.id not in order["sources"]]
    value_seen = sum((order["value"] for order in seen), Decimal(0))
    browsers: dict[str, int] = {}
    for order in missed:
        name = browser_of(order["agent"])
        browsers[name] = browsers.get(name, 0) + 1
    return {
        "source": source,
        "name": SOURCE_NAMES.get(source.source_type, source.source_type),
        "ordersSeen": len(seen),
        "ordersMissed": len(missed),
        "share": round(100 * len(seen) / total_orders, 1) if total_orders else None,
        "valueSeen": value_seen,
        "valueShare": round(100 * float(value_seen) / float(total_value), 1) if total_value else None,
        "missedBrowsers": sorted(browsers.items(), key=lambda item: -item[1]),
        "duplicatesDropped": source.duplicates_dropped,
        "rejected": source.events_rejected,
        "signatureFailures": source.signature_failures,
        "lastEventAt": source.last_event_at,
    }


def _diagnosis(rows: list[dict], total_orders: int) -> list[str]:
    """One plain sentence per finding, most serious first."""
    if not total_orders:
        return ["No purchases in this range yet: the report fills up as orders arrive."]
    reporting = [row for row in rows if row["ordersSeen"]]
    if len(reporting) < 2:
        return [
            "Only one source reports purchases, so nothing can be compared yet: connect your store, your GA4 tag "
            "and your Meta Pixel to see which of them misses orders."
        ]
    findings = []
    for row in sorted(rows, key=lambda row: row["share"] if row["share"] is not None else 100):
        if row["share"] is None or row["share"] >= COMPLETE_SHARE:
            continue
        missed_share = round(100 - row["share"])
        sentence = f"The {row['name']} misses {missed_share}% of orders ({row['ordersMissed']} of {total_orders})"
        if row["missedBrowsers"]:
            browser, count = row["missedBrowsers"][0]
            if browser != "unknown" and count * 2 > row["ordersMissed"]:
                sentence += f"; most of them ({count}) were placed in {browser}"
        findings.append(sentence + ".")
    for row in rows:
        if row["signatureFailures"]:
            findings.append(
                f"{row['source'].name} rejected {row['signatureFailures']} webhook(s) with a bad signature: check "
                "the webhook secret in the source's settings."
            )
    if not findings:
        findings.append("Every source sees (nearly) every order.")
    return findings


def _missing(orders: dict, sources: list[DataSource]) -> list[dict]:
    """The latest orders that at least one source missed, with who saw them."""
    names = {source.id: SOURCE_NAMES.get(source.source_type, source.name) for source in sources}
    ids = set(names)
    gaps = [(key, order) for key, order in orders.items() if ids - order["sources"]]
    gaps.sort(key=lambda item: item[1]["at"].timestamp() if item[1]["at"] else 0, reverse=True)
    return [
        {
            "order": key,
            "value": order["value"],
            "at": order["at"],
            "browser": browser_of(order["agent"]),
            "seenBy": [names[i] for i in sorted(order["sources"]) if i in names],
            "missedBy": [names[i] for i in sorted(ids - order["sources"])],
        }
        for key, order in gaps[:MISSING_LIST]
    ]
