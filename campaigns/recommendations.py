"""Campaign recommendations from the workspace's own analysis.

`recommendations_generate` runs the analysis, asks the configured model for JSON (validated by
`recommendation_schema`), repairs an invalid answer once, and otherwise uses the offline playbook below,
which builds one deterministic campaign per non-empty segment from the real numbers. Every
recommendation is stored as a CampaignRecommendation so that a campaign can be created from it.
"""

import json
import math
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import User, Workspace
from accounts.policy import policy_require
from accounts.selectors import workspace_current_for_user
from ai.providers.base import ChatRequest
from ai.router import complete_sync, llm_configured
from integrations.models import DataSource

from .models import CampaignRecommendation
from .recommendation_schema import RECOMMENDATIONS_SCHEMA, recommendations_parse

NO_DATA_SOURCES = {"type": "no_data_sources", "message": "Please connect data sources first"}

# Per segment (channels are campaigns.Platform values): name, objective, channels, key message, offer,
# timing, and the expected conversion of the
# audience used for KPI targets (conservative industry rules of thumb for each kind of campaign).
PLAYBOOK = {
    "cart_abandoners": {
        "name": "Cart recovery for {count} shoppers",
        "objective": "Turn abandoned carts into first purchases",
        "channels": ["email", "facebook", "instagram"],
        "keyMessage": "You left something in your cart: it is still waiting, and checkout takes a minute.",
        "offer": "Free shipping on the saved cart, valid 48 hours",
        "timing": "Reminder 1 hour after abandonment, second touch at 24 hours, the offer at 48 hours; run 14 days",
        "conversion": Decimal("0.10"),
        "why": "added products to the cart but did not purchase",
    },
    "potential_customers": {
        "name": "Purchase nudge for {count} high-intent visitors",
        "objective": "Move shoppers who showed purchase intent to a first order",
        "channels": ["email", "instagram", "facebook"],
        "keyMessage": "Reviews and a clear return policy for the products you looked at: buy with confidence.",
        "offer": "10% off the first order with a 7-day code",
        "timing": "Start within 24 hours of the last visit; three touches over 7 days",
        "conversion": Decimal("0.08"),
        "why": "reached the cart or checkout without buying",
    },
    "high_value_customers": {
        "name": "VIP early access for {count} top spenders",
        "objective": "Retain the highest spenders and raise their next order value",
        "channels": ["email", "instagram"],
        "keyMessage": "As one of our best customers, you see the new collection first.",
        "offer": "48-hour early access and double loyalty points, no discount needed",
        "timing": "Before the next launch or sale; one announcement, one reminder",
        "conversion": Decimal("0.25"),
        "why": "spent more than the high-value threshold",
    },
    "new_visitors": {
        "name": "Welcome series for {count} first-time visitors",
        "objective": "Convert browsers who only viewed pages into subscribers, then buyers",
        "channels": ["instagram", "facebook", "email"],
        "keyMessage": "New here? See what customers love most, and get a welcome gift.",
        "offer": "10% welcome code in exchange for a newsletter sign-up",
        "timing": "Retarget for 14 days after the first visit; welcome e-mails on days 0, 2 and 5",
        "conversion": Decimal("0.03"),
        "why": "only viewed pages (a single event type)",
    },
    "engaged_users": {
        "name": "Bundle offer for {count} engaged users",
        "objective": "Turn active browsers into buyers with a curated bundle",
        "channels": ["email", "instagram"],
        "keyMessage": "Picked for you from what you explored: a bundle that saves on the set.",
        "offer": "15% off a bundle of the products they viewed",
        "timing": "Within 3 days of their last session; run 10 days",
        "conversion": Decimal("0.12"),
        "why": "interacted in three or more different ways",
    },
    "repeat_customers": {
        "name": "Referral and cross-sell for {count} repeat customers",
        "objective": "Grow through loyal buyers: referrals and a complementary product",
        "channels": ["email", "facebook"],
        "keyMessage": "Thank you for coming back: share us with a friend and both of you get a gift.",
        "offer": "Give 10, get 10 referral credit plus a complementary-product suggestion",
        "timing": "7 days after their latest order; a monthly reminder",
        "conversion": Decimal("0.20"),
        "why": "purchased more than once",
    },
}
GENERIC_PLAY = {
    "name": "Targeted campaign for {count} customers in {segment}",
    "objective": "Engage this segment with a tailored message",
    "channels": ["email"],
    "keyMessage": "A message written for this group's behaviour.",
    "offer": "A time-limited incentive",
    "timing": "Over the next 14 days",
    "conversion": Decimal("0.05"),
    "why": "match the segment rule",
}


def _money(value) -> Decimal:
    return Decimal(str(value or "0"))


def non_empty_segments(overview: dict) -> dict[str, int]:
    """Segment name -> size, for segments with at least one customer, in the analysis's order."""
    return {name: int(s.get("count") or 0) for name, s in overview.get("segments", {}).items() if s.get("count")}


def evidence_for(*, segment: str, overview: dict) -> list[dict]:
    """The numbers a recommendation rests on: metric, value and the date range they were computed over."""
    window = {"from": overview["range"]["from"], "to": overview["range"]["to"]}
    rows = overview.get("rowCounts", {})
    evidence = [
        {"metric": f"segments.{segment}.count", "value": overview["segments"][segment]["count"], **window},
        {"metric": "averageOrderValue", "value": overview.get("averageOrderValue"), **window},
        {"metric": "orders", "value": overview.get("orders", 0), **window},
        {"metric": "rowCounts.events", "value": rows.get("events", 0), **window},
    ]
    steps = (overview.get("funnel") or {}).get("steps") or []
    if steps:
        weakest = min(steps[1:] or steps, key=lambda s: s.get("conversionFromPrevious", 100))
        evidence.append(
            {
                "metric": f"funnel.{weakest['step']}.conversionFromPrevious",
                "value": weakest.get("conversionFromPrevious"),
                **window,
            }
        )
    return evidence


def local_recommendation(*, segment: str, count: int, overview: dict) -> dict:
    """The offline playbook's campaign for one segment, with KPI targets and a rationale from the real numbers."""
    play = PLAYBOOK.get(segment, GENERIC_PLAY)
    window = overview["range"]
    currency = overview.get("currency", "")
    aov = _money(overview.get("averageOrderValue"))
    orders = max(1, math.ceil(count * play["conversion"]))
    revenue = (aov * orders).quantize(Decimal("0.01"))
    rationale = (
        f"{count} customers {play['why']} between {window['from']} and {window['to']} ({window['days']} days, "
        f"from {overview.get('rowCounts', {}).get('events', 0)} events). The store made "
        f"{overview.get('orders', 0)} orders at an average order value of {aov} {currency}"
    )
    steps = (overview.get("funnel") or {}).get("steps") or []
    if len(steps) > 1:
        weakest = min(steps[1:], key=lambda s: s.get("conversionFromPrevious", 100))
        rationale += (
            f"; the weakest funnel step is {weakest.get('label', weakest['step'])} at "
            f"{weakest.get('conversionFromPrevious')}% of the previous step"
        )
    if overview.get("segmentsEstimated"):
        rationale += ". Segment sizes are estimated from event totals (few identifiable customers)"
    rationale += (
        f". Converting {int(play['conversion'] * 100)}% of the audience means {orders} orders, "
        f"about {revenue} {currency}."
    )
    return {
        "segment": segment,
        "name": play["name"].format(count=count, segment=segment.replace("_", " ")),
        "objective": play["objective"],
        "channels": list(play["channels"]),
        "audienceSize": count,
        "keyMessage": play["keyMessage"],
        "offer": play["offer"],
        "timing": play["timing"],
        "kpiTargets": {
            "conversionRate": f"{int(play['conversion'] * 100)}%",
            "orders": orders,
            "revenue": str(revenue),
            "currency": currency,
            # Spend at most a fifth of the expected revenue (a 5x return on ad spend floor).
            "budget": str((revenue * Decimal("0.2")).quantize(Decimal("0.01"))),
        },
        "rationale": rationale,
    }


def _prompt_facts(overview: dict) -> dict:
    keys = ("range", "rowCounts", "eventsByType", "revenue", "orders", "averageOrderValue", "currency")
    facts = {key: overview.get(key) for key in keys}
    facts["segments"] = {name: s.get("count", 0) for name, s in overview.get("segments", {}).items()}
    facts["segmentsEstimated"] = overview.get("segmentsEstimated", False)
    facts["engagement"] = {k: v for k, v in (overview.get("engagement") or {}).items() if k != "formula"}
    funnel = overview.get("funnel") or {}
    facts["funnel"] = {
        "steps": [
            {k: s.get(k) for k in ("step", "customers", "conversionFromPrevious", "value")}
            for s in funnel.get("steps", [])
        ],
        "overallConversion": funnel.get("overallConversion"),
    }
    return facts


RECOMMENDATION_SYSTEM = (
    "You are a senior performance marketer. From the analysis JSON, propose exactly one campaign for each "
    "listed segment. Use the real numbers: audienceSize is the segment size, and each rationale must quote "
    "the segment size and the date range (from/to dates or the number of days) and the metrics it relies on. "
    'Answer with JSON only: {"recommendations": [{segment, name, objective, channels, audienceSize, '
    "keyMessage, offer, timing, kpiTargets, rationale}]}."
)


def _model_request(*, facts: dict, segments: dict[str, int], previous: str = "", errors: list[str] | None = None):
    content = f"Analysis:\n{json.dumps(facts, default=str)}\n\nSegments to cover (name: size): " + json.dumps(segments)
    messages = [{"role": "user", "content": content}]
    if errors:
        messages += [
            {"role": "assistant", "content": previous[:6000]},
            {
                "role": "user",
                "content": "That answer is invalid:\n- " + "\n- ".join(errors) + "\nReturn the corrected JSON only.",
            },
        ]
    return ChatRequest(
        messages=messages,
        system=RECOMMENDATION_SYSTEM,
        purpose="recommendation",
        max_tokens=2000,
        temperature=0.2,
        json_schema=RECOMMENDATIONS_SCHEMA,
    )


def _from_model(
    *, workspace: Workspace, overview: dict, segments: dict[str, int], user: User | None = None
) -> tuple[list[dict], str] | None:
    """The model's validated recommendations and provider name, after at most one repair; None when unusable."""
    facts = _prompt_facts(overview)
    raw, usage = complete_sync(
        request=_model_request(facts=facts, segments=segments), workspace=workspace, user=user, llm_only=True
    )
    if not raw:
        return None
    items, errors = recommendations_parse(raw, segments=segments, date_range=overview["range"])
    if errors:
        raw, usage = complete_sync(
            request=_model_request(facts=facts, segments=segments, previous=raw, errors=errors),
            workspace=workspace,
            user=user,
            llm_only=True,
        )
        if not raw:
            return None
        items, errors = recommendations_parse(raw, segments=segments, date_range=overview["range"])
    if errors:
        return None
    return items, usage.get("provider", "")


def recommendation_payload(recommendation: CampaignRecommendation) -> dict:
    """The camelCase representation used by the chat event and the API."""
    return {
        "id": recommendation.id,
        "segment": recommendation.segment,
        "name": recommendation.name,
        "objective": recommendation.objective,
        "channels": recommendation.channels,
        "audienceSize": recommendation.audience_size,
        "keyMessage": recommendation.key_message,
        "offer": recommendation.offer,
        "timing": recommendation.timing,
        "kpiTargets": recommendation.kpi_targets,
        "rationale": recommendation.rationale,
        "evidence": recommendation.evidence,
        "provider": recommendation.provider,
        "conversationId": recommendation.conversation_id,
        "createdAt": recommendation.created_at.isoformat() if recommendation.created_at else None,
    }


@transaction.atomic
def _store(*, workspace, user, conversation, items: list[dict], overview: dict, provider: str):
    rows = []
    for item in items:
        row = CampaignRecommendation(
            workspace=workspace,
            created_by=user,
            conversation=conversation,
            segment=item["segment"][:64],
            name=item["name"][:200],
            objective=item["objective"][:500],
            channels=[str(c) for c in item["channels"]],
            audience_size=item["audienceSize"],
            key_message=item["keyMessage"],
            offer=item["offer"][:500],
            timing=item["timing"][:500],
            kpi_targets=item["kpiTargets"],
            rationale=item["rationale"],
            evidence=evidence_for(segment=item["segment"], overview=overview),
            provider=provider[:32],
            payload=item,
        )
        row.full_clean()
        row.save()
        rows.append(row)
    return rows


def recommendations_generate(
    *,
    workspace: Workspace,
    user: User | None,
    conversation=None,
    segments: list[str] | None = None,
    channels: list[str] | None = None,
    **period,
) -> dict:
    """One stored recommendation per non-empty segment of the workspace's analysis (or the no-data answer).

    Uses the configured model when there is one (JSON validated, repaired once), else the offline playbook.
    `segments` and `channels` narrow it to what the question asked for (a chat's intent entities);
    `period` may carry date_from/date_to/source_id for the analysis (default: the last 30 days).
    Asked for outside a conversation (the API's "generate"), editors and up only; in a conversation any member
    gets them as the assistant's answer (viewers hold their own conversations).
    """
    from integrations.analysis.selectors import analysis_overview

    if conversation is None:
        policy_require(user=user, workspace=workspace, action="recommendations.generate")

    if not DataSource.objects.filter(workspace=workspace).exists():
        return dict(NO_DATA_SOURCES)
    overview = analysis_overview(workspace=workspace, **period)
    asked = [name for name in (segments or []) if name in overview["segments"]]
    segments = non_empty_segments(overview)
    result = {"type": "recommendations", "range": overview["range"], "segmentsEstimated": overview["segmentsEstimated"]}
    if asked:
        segments = {name: count for name, count in segments.items() if name in asked}
        if not segments:
            names = ", ".join(name.replace("_", " ") for name in asked)
            return result | {
                "recommendations": [],
                "provider": "local",
                "message": f"Nobody is in {names} in this period yet, so there is no campaign to propose for it.",
            }
    if not segments:
        return result | {
            "recommendations": [],
            "provider": "local",
            "message": "No segment has customers in this period yet: collect more events, then ask again.",
        }
    produced = (
        _from_model(workspace=workspace, overview=overview, segments=segments, user=user)
        if llm_configured(workspace=workspace, user=user)
        else None
    )
    if produced is None:
        items = [local_recommendation(segment=name, count=count, overview=overview) for name, count in segments.items()]
        provider = "local"
    else:
        items, provider = produced
    if channels:  # the channels the question named come first
        for item in items:
            item["channels"] = list(dict.fromkeys([*channels, *item["channels"]]))[: max(len(channels), 1)]
    rows = _store(
        workspace=workspace, user=user, conversation=conversation, items=items, overview=overview, provider=provider
    )
    return result | {"recommendations": [recommendation_payload(row) for row in rows], "provider": provider}


def recommendation_list_for_user(*, user: User) -> QuerySet[CampaignRecommendation]:
    """The stored recommendations of the user's current workspace, newest first."""
    workspace = workspace_current_for_user(user=user)
    return CampaignRecommendation.objects.filter(workspace=workspace).order_by("-created_at", "-id")
