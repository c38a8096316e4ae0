"""Answers of the offline provider, built from the question, its intent and the workspace context.

Deterministic: the same question and context give the same text. Signed-in answers quote the workspace's
real numbers (context["analysis"] is the analysis overview); anonymous ones give general guidance and an
invitation to connect data.
"""

from ..intent.classifier import intent_classify
from .base import ChatRequest
from .local_files import file_analysis_text, file_citation_answer
from .local_predictions import is_prediction_question, predictions_answer

SEGMENT_LABELS = {
    "cart_abandoners": "cart abandoners",
    "potential_customers": "potential customers",
    "high_value_customers": "high-value customers",
    "new_visitors": "new visitors",
    "engaged_users": "engaged users",
    "repeat_customers": "repeat customers",
}
SEGMENT_PLAYS = {
    "cart_abandoners": "a 3-step reminder (1 h, 24 h, 48 h with free shipping) by e-mail plus Facebook retargeting",
    "potential_customers": "social proof (reviews, easy returns) and a 7-day first-order code",
    "high_value_customers": "VIP early access and loyalty points rather than discounts",
    "new_visitors": "a welcome code for a newsletter sign-up and 14 days of Instagram retargeting",
    "engaged_users": "a bundle of the products they explored, 15% off for 10 days",
    "repeat_customers": "a give-10/get-10 referral and a complementary-product suggestion",
}
SOURCE_HELP = {
    "shopify": (
        "Shopify: in Data sources choose Shopify, enter the shop domain (yourstore.myshopify.com) and an Admin API "
        "access token from a custom app with read_orders and read_customers (add read_all_orders to import more "
        "than the last 60 days). We pull orders and customers, and webhooks keep them current between syncs."
    ),
    "gtm": (
        "Google Tag Manager: add a GTM source with your container ID, then create a Custom HTML or HTTP tag that "
        "posts your dataLayer ecommerce events (or GA4 Measurement Protocol bodies) to the collect URL shown with "
        "the source's write key. Fire it on page_view, view_item, add_to_cart, begin_checkout and purchase."
    ),
    "facebook_pixel": (
        "Meta Pixel: Meta does not let anyone read Pixel events back, so fire our tag beside fbq with the same "
        "event_id, or post Conversions API bodies from your server to the collect URL with the source's write key."
    ),
    "csv": (
        "CSV: export orders or events with at least a customer id or e-mail, an event type or order, a date and a "
        "value, upload the file as a CSV source and map the columns."
    ),
}


def _question(request: ChatRequest) -> str:
    return next((m.get("content", "") for m in reversed(request.messages) if m.get("role") == "user"), "")


def _intent(request: ChatRequest, question: str) -> dict:
    if request.intent and request.intent.get("intent"):
        return request.intent
    return intent_classify(text=question)


def _segments(analysis: dict) -> list[tuple[str, int]]:
    """Non-empty segments, largest first (ties by name, so the answer is stable)."""
    items = [(name, int(s.get("count") or 0)) for name, s in (analysis.get("segments") or {}).items()]
    return sorted([i for i in items if i[1] > 0], key=lambda i: (-i[1], i[0]))


def _weakest_step(analysis: dict) -> dict | None:
    steps = ((analysis.get("funnel") or {}).get("steps") or [])[1:]
    return min(steps, key=lambda s: s.get("conversionFromPrevious", 100)) if steps else None


def _period(analysis: dict) -> str:
    window = analysis.get("range") or {}
    if not window:
        return "the last 30 days"
    return f"{window.get('from')} to {window.get('to')} ({window.get('days')} days)"


def _money(analysis: dict, key: str) -> str:
    return f"{analysis.get(key, '0.00')} {analysis.get('currency', '')}".strip()


def _headline(analysis: dict) -> str:
    events = (analysis.get("rowCounts") or {}).get("events", 0)
    customers = (analysis.get("rowCounts") or {}).get("customers", 0)
    return (
        f"From {_period(analysis)} I count {events} events from {customers} identified customers: "
        f"{analysis.get('orders', 0)} orders, revenue {_money(analysis, 'revenue')}, average order value "
        f"{_money(analysis, 'averageOrderValue')}."
    )


def _funnel_lines(analysis: dict) -> list[str]:
    funnel = analysis.get("funnel") or {}
    lines = [
        f"- {s.get('label', s.get('step'))}: {s.get('customers', 0)} customers "
        f"({s.get('conversionFromPrevious', 0)}% of the previous step)"
        for s in funnel.get("steps") or []
    ]
    if lines:
        # A blank line first: Markdown would read a line right after a list item as that item's continuation.
        overall = f"Overall conversion: {funnel.get('overallConversion', 0)}%."
        change = (funnel.get("change") or {}).get("overallConversionPoints")
        if change is not None:
            overall += f" Against the previous period: {change:+} points."
        lines += ["", overall]
    return lines


def _segment_lines(analysis: dict, limit: int = 6) -> list[str]:
    return [f"- {SEGMENT_LABELS.get(n, n)}: {c}" for n, c in _segments(analysis)[:limit]]


def _anonymous(intent: str, question: str) -> str:
    general = {
        "campaign_recommendation": (
            "A good first campaign targets people who already showed intent: cart abandoners get a reminder "
            "within an hour and a small incentive (free shipping) at 48 hours; repeat buyers get a referral "
            "offer; first-time visitors get a welcome code for a newsletter sign-up."
        ),
        "performance_question": (
            "To answer with numbers I need your data: revenue, orders, average order value, your funnel "
            "(view -> cart -> checkout -> purchase) and segment sizes all come from your own events."
        ),
        "data_source_help": " ".join(SOURCE_HELP.values()),
        "content_creation": (
            "Strong marketing copy names one audience, one benefit and one action: a subject line under 45 "
            "characters, a first sentence that states the benefit, and a single call to action."
        ),
        "general_marketing": (
            "Focus on the biggest leak first: measure the funnel step with the lowest conversion, fix that page "
            "or offer, then scale the channel that converts best. Retaining a customer usually costs far less "
            "than acquiring one, so set up a post-purchase e-mail and a referral offer early."
        ),
        "greeting": "Hello! I am your marketing assistant.",
    }.get(intent, "I focus on marketing: campaigns, your funnel and metrics, data sources and content.")
    return (
        f"{general}\n\nSign up and connect a data source (Google Tag Manager, the Meta Pixel, Shopify or a CSV) "
        "and I will answer from your own numbers: your segments, funnel drop-off and which campaign to run next."
    )


def _campaign_answer(analysis: dict) -> str:
    segments = _segments(analysis)
    if not segments:
        return "No segment has customers in this period yet. " + _headline(analysis)
    lines = [_headline(analysis), "", "Where I would put the next campaign:"]
    for name, count in segments[:3]:
        lines.append(f"- {SEGMENT_LABELS.get(name, name)} ({count}): {SEGMENT_PLAYS.get(name, 'a tailored offer')}.")
    weakest = _weakest_step(analysis)
    lines.append("")  # the list ends here (see _funnel_lines)
    if weakest:
        lines.append(
            f"Your weakest funnel step is {weakest.get('label', weakest.get('step'))} at "
            f"{weakest.get('conversionFromPrevious')}%: the cart-recovery play addresses it directly."
        )
    lines.append("Ask me to generate the full recommendations to store them and turn one into a campaign.")
    return "\n".join(lines)


def _performance_answer(analysis: dict) -> str:
    lines = [_headline(analysis), "", "Funnel:"] + _funnel_lines(analysis)
    lines += ["", "Segments:"] + (_segment_lines(analysis) or ["- none has customers yet"])
    lines.append("")  # the list ends here (see _funnel_lines)
    engagement = analysis.get("engagement") or {}
    if engagement:
        lines.append(
            f"Engagement: {engagement.get('eventsPerCustomer', 0)} events and "
            f"{engagement.get('distinctTypesPerCustomer', 0)} event types per customer, score "
            f"{engagement.get('engagementScore', 0)}/100."
        )
    weakest = _weakest_step(analysis)
    if weakest:
        lines.append(
            f"Next action: the biggest drop is at {weakest.get('label', weakest.get('step'))} "
            f"({weakest.get('conversionFromPrevious')}%); test a shorter checkout or a reminder there first."
        )
    if analysis.get("segmentsEstimated"):
        lines.append("Note: few customers could be identified, so segment sizes are estimated from event totals.")
    return "\n".join(lines)


def _source_answer(question_entities: dict, sources: list[dict]) -> str:
    wanted = question_entities.get("sources") or list(SOURCE_HELP)
    lines = [SOURCE_HELP[name] for name in wanted if name in SOURCE_HELP]
    if sources:
        described = ", ".join(f"{s.get('name')} ({s.get('type')}, {s.get('status')})" for s in sources)
        lines.append(f"Connected now: {described}. A source in error shows its reason on the Data sources page.")
    else:
        lines.append("You have no data source yet: start with the one where your orders live.")
    return "\n\n".join(lines)


def _content_answer(question_entities: dict, analysis: dict) -> str:
    segments = question_entities.get("segments") or [name for name, _ in _segments(analysis)[:1]] or ["customers"]
    segment = segments[0]
    channel = (question_entities.get("channels") or ["email"])[0]
    size = dict(_segments(analysis)).get(segment)
    audience = SEGMENT_LABELS.get(segment, segment)
    lines = [f"A {channel} draft for your {audience}" + (f" ({size} people):" if size else ":"), ""]
    if channel == "email":
        lines += [
            "Subject: Still thinking it over? Your picks are waiting",
            "Preview: Free shipping for the next 48 hours.",
            "Body: Hi {first_name}, you have great taste. The items you looked at are still available, and for "
            "the next 48 hours shipping is on us. Questions about size or fit? Just reply to this e-mail.",
            "Call to action: Complete my order",
        ]
    else:
        lines += [
            "Headline: The ones you loved are still here",
            "Text: Back in your feed because you have great taste. Free shipping for 48 hours; tap to finish.",
            "Call to action: Shop now",
        ]
    lines += ["", "Keep one offer and one action; A/B test the subject line or headline on a fifth of the audience."]
    return "\n".join(lines)


def _general_answer(analysis: dict, has_data: bool) -> str:
    text = (
        "Practical rules that work for most online stores: fix the funnel step that loses the most people before "
        "buying more traffic; keep 20-30% of e-mail sends for people who already bought (retention is cheaper "
        "than acquisition); test one variable at a time with a holdout group; and judge channels on revenue per "
        "visitor, not clicks."
    )
    if has_data:
        overall = (analysis.get("funnel") or {}).get("overallConversion")
        if overall is not None:
            text += (
                f" For reference, your overall conversion in {_period(analysis)} is {overall}%; "
                "typical e-commerce stores convert 1-3% of visitors."
            )
    return text


def answer_for(request: ChatRequest) -> str:
    context = request.context or {}
    if request.purpose == "file_analysis":
        return file_analysis_text(context)
    question = _question(request).strip()
    intent = _intent(request, question)
    kind = intent.get("intent", "other")
    workspace = context.get("workspace") or {}
    if not workspace or context.get("anonymous"):
        return _anonymous(kind, question)
    cited = file_citation_answer(question, context.get("files") or [])
    if cited:
        return cited
    name = workspace.get("name", "your workspace")
    analysis = context.get("analysis") or {}
    sources = context.get("sources") or []
    entities = intent.get("entities") or {}
    if "predictions" in context and is_prediction_question(question):
        return predictions_answer(context["predictions"])
    if kind == "data_source_help":
        return _source_answer(entities, sources)
    if not sources and kind in ("campaign_recommendation", "performance_question", "greeting"):
        return (
            f"{name} has no data source connected yet, so I have no numbers to work from. Connect Shopify, Google "
            "Tag Manager, the Meta Pixel or a CSV under Data sources (or load dummy data to try me), then ask "
            "again: I will show your segments, funnel and the campaign to run first."
        )
    if kind == "greeting":
        first = (context.get("user") or {}).get("firstName") or "there"
        return (
            f"Hello {first}! {_headline(analysis) if analysis else ''} Ask me which segment to target, where your "
            "funnel leaks, or for a draft e-mail or ad."
        ).replace("  ", " ")
    if kind == "campaign_recommendation":
        return _campaign_answer(analysis)
    if kind == "performance_question":
        return _performance_answer(analysis)
    if kind == "content_creation":
        return _content_answer(entities, analysis)
    if kind == "general_marketing":
        return _general_answer(analysis, bool(analysis))
    return (
        f"I am {name}'s marketing assistant, so I stick to marketing: your segments and funnel, campaign ideas, "
        "connecting data sources and writing copy. " + (_headline(analysis) if analysis else "")
    ).strip()
