"""Performance analytics: store daily results (rows, CSV or platform insights) and compute the rates."""

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from accounts.policy import policy_require

from .models import Campaign, PerformanceMetric
from .models.campaign import Platform

COUNTERS = ("impressions", "likes", "shares", "comments", "clicks", "conversions")
MAX_ROWS = 5000


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0.0 when the denominator is 0."""
    return round(numerator / denominator, 6) if denominator else 0.0


def rates(totals: dict) -> dict:
    """Engagement rate, CTR and conversion rate of one set of counters, all zero-safe."""
    engagements = totals.get("likes", 0) + totals.get("shares", 0) + totals.get("comments", 0)
    return {
        "engagementRate": ratio(engagements, totals.get("impressions", 0)),
        "ctr": ratio(totals.get("clicks", 0), totals.get("impressions", 0)),
        "conversionRate": ratio(totals.get("conversions", 0), totals.get("clicks", 0)),
    }


def _sum(rows) -> dict:
    totals = dict.fromkeys(COUNTERS, 0)
    totals["spend"] = Decimal("0")
    for row in rows:
        for counter in COUNTERS:
            totals[counter] += getattr(row, counter)
        totals["spend"] += row.spend
    return totals


def performance_summary(*, rows: list[PerformanceMetric]) -> dict:
    """Totals with rates, a daily series, and per-variant and per-platform breakdowns."""
    totals = _sum(rows)
    days: dict[date, list] = {}
    variants: dict[int, list] = {}
    platforms: dict[str, list] = {}
    for row in rows:
        days.setdefault(row.date, []).append(row)
        platforms.setdefault(row.platform, []).append(row)
        if row.variant_id:
            variants.setdefault(row.variant_id, []).append(row)

    def block(group) -> dict:
        summed = _sum(group)
        return {**summed, "spend": str(summed["spend"]), **rates(summed)}

    return {
        "totals": {**totals, "spend": str(totals["spend"]), **rates(totals)},
        "daily": [{"date": day.isoformat(), **block(group)} for day, group in sorted(days.items())],
        "variants": [{"variantId": vid, **block(group)} for vid, group in variants.items()],
        "platforms": [{"platform": name, **block(group)} for name, group in sorted(platforms.items())],
    }


def _clean_row(raw: dict, *, campaign: Campaign, index: int) -> dict:
    errors = {}
    try:
        day = raw["date"] if isinstance(raw["date"], date) else date.fromisoformat(str(raw["date"]).strip()[:10])
    except (KeyError, ValueError):
        errors["date"] = "Use a date like 2026-11-01."
        day = None
    platform = str(raw.get("platform") or "").strip().lower()
    if platform not in Platform.values:
        errors["platform"] = f"Use one of {', '.join(Platform.values)}."
    values = {}
    for counter in COUNTERS:
        try:
            value = int(str(raw.get(counter) or 0).strip() or 0)
            if value < 0:
                raise ValueError
            values[counter] = value
        except ValueError:
            errors[counter] = "Use a whole number ≥ 0."
    try:
        spend = Decimal(str(raw.get("spend") or "0").strip() or "0").quantize(Decimal("0.01"))
        if spend < 0:
            raise InvalidOperation
        values["spend"] = spend
    except InvalidOperation:
        errors["spend"] = "Use an amount ≥ 0."
    variant_id = raw.get("variant_id") or raw.get("variantId") or None
    variant = None
    post_id = str(raw.get("post_id") or raw.get("postId") or "").strip()
    if post_id and variant_id in (None, ""):  # a published post's results belong to the variant it published
        published = campaign.publications.filter(platform_post_id=post_id).select_related("variant").first()
        if published is None:
            errors["postId"] = "No post of this campaign has this id."
        else:
            variant = published.variant
    elif variant_id not in (None, ""):
        variant = campaign.variants.filter(pk=str(variant_id).strip()).first() if str(variant_id).isdigit() else None
        if variant is None:
            errors["variantId"] = "Not a variant of this campaign."
    if errors:
        raise ValidationError({f"rows[{index}]": [f"{k}: {v}" for k, v in errors.items()]})
    return {"date": day, "platform": platform, "variant": variant, **values}


@transaction.atomic
def metrics_import(*, campaign: Campaign, user: User | None, rows: list[dict], source: str) -> dict:
    """Upsert daily rows (one per campaign/variant, day and platform); all rows or none. Returns counts."""
    policy_require(user=user, workspace=campaign.workspace, action="metrics.import")
    if len(rows) > MAX_ROWS:
        raise ValidationError({"rows": f"At most {MAX_ROWS} rows per import."})
    cleaned = [_clean_row(raw, campaign=campaign, index=i) for i, raw in enumerate(rows)]
    created = updated = 0
    for row in cleaned:
        key = {
            "campaign": campaign,
            "variant": row.pop("variant"),
            "date": row.pop("date"),
            "platform": row.pop("platform"),
        }
        _, was_created = PerformanceMetric.objects.update_or_create(
            **key, defaults={**row, "source": source, "workspace": campaign.workspace}
        )
        created += was_created
        updated += not was_created
    return {"created": created, "updated": updated}


def csv_rows(*, text: str) -> list[dict]:
    """Rows of a CSV export (header: date, platform, variant_id?, impressions, likes, ... spend)."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "date" not in [f.strip().lower() for f in reader.fieldnames]:
        raise ValidationError({"file": "The CSV needs a header row with at least date and platform columns."})
    return [{(k or "").strip().lower(): v for k, v in row.items()} for row in reader]


def publication_metrics_sync(*, publication, user: User | None, since: date, until: date) -> dict:
    """Pull daily insights of one published post and store them as the results of its variant (editors and up,
    asked before Meta is called)."""
    from .adapters.insights import insights_fetch

    policy_require(user=user, workspace=publication.workspace, action="metrics.import")

    if not publication.platform_post_id:
        raise ValidationError({"postId": "This post has not been published yet."})
    if until < since:
        raise ValidationError({"until": "The end date must not be before the start date."})
    rows = insights_fetch(
        workspace=publication.workspace, object_id=publication.platform_post_id, since=since, until=until
    )
    for row in rows:
        row.update(post_id=publication.platform_post_id, platform=publication.platform)
    campaign = publication.campaign
    return metrics_import(campaign=campaign, user=user, rows=rows, source=PerformanceMetric.Source.PLATFORM)


def metrics_sync_from_platform(*, campaign: Campaign, user: User | None, since: date, until: date) -> dict:
    """Pull daily insights for the campaign's platform id through the insights adapter and upsert them (editors
    and up, asked before the platform is called)."""
    from .adapters.insights import insights_fetch

    policy_require(user=user, workspace=campaign.workspace, action="metrics.import")

    if not campaign.platform_campaign_id:
        raise ValidationError({"platformCampaignId": "Set the ad platform's campaign id first."})
    if until < since:
        raise ValidationError({"until": "The end date must not be before the start date."})
    rows = insights_fetch(
        workspace=campaign.workspace, object_id=campaign.platform_campaign_id, since=since, until=until
    )
    return metrics_import(campaign=campaign, user=user, rows=rows, source=PerformanceMetric.Source.PLATFORM)
