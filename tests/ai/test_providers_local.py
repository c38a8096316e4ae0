"""The offline provider: deterministic, streamed in chunks, grounded in the workspace's real numbers."""

import pytest
from asgiref.sync import async_to_sync

from ai.providers.base import ChatRequest, Usage
from ai.providers.local import LocalProvider
from integrations.analysis.selectors import analysis_overview
from tests.campaigns.test_recommendations import store_data

pytestmark = pytest.mark.django_db


def context_for(workspace):
    source = store_data(workspace)
    return {
        "user": {"firstName": "Ada"},
        "workspace": {"id": workspace.id, "name": workspace.name},
        "sources": [{"id": source.id, "name": source.name, "type": "shopify", "status": "active"}],
        "analysis": analysis_overview(workspace=workspace),
    }


def stream(text, context) -> tuple[list[str], Usage]:
    usage = Usage(provider="", model="")
    request = ChatRequest(messages=[{"role": "user", "content": text}], context=context)

    async def run():
        return [piece async for piece in LocalProvider().stream(request, usage)]

    return async_to_sync(run)(), usage


def test_a_metrics_question_quotes_revenue_orders_aov_funnel_and_segments(workspace):
    pieces, usage = stream("What was my revenue and conversion rate?", context_for(workspace))
    answer = "".join(pieces)

    assert "3 orders, revenue 210.00 EUR, average order value 70.00 EUR" in answer
    assert "- cart abandoners: 2" in answer and "- repeat customers: 1" in answer
    assert "Overall conversion:" in answer and "biggest drop" in answer
    # Paragraphs after a list start after a blank line, or Markdown renders them inside the list's last item.
    assert "\n\nOverall conversion:" in answer and "\n\nEngagement:" in answer
    assert len(pieces) > 5
    assert usage.provider == "local" and usage.tokens_out > 0 and usage.tokens_in > 0


def test_a_campaign_question_names_segments_with_sizes_and_a_play(workspace):
    answer = "".join(stream("Which segment should I target with a campaign?", context_for(workspace))[0])

    assert "cart abandoners (2)" in answer and "free shipping" in answer


def test_answers_are_deterministic(workspace):
    context = context_for(workspace)

    assert stream("How is my funnel?", context)[0] == stream("How is my funnel?", context)[0]


def test_an_anonymous_question_gets_general_guidance_and_an_invitation():
    answer = "".join(stream("Which campaign should I run?", {"anonymous": True})[0])

    assert "cart abandoners get a reminder" in answer
    assert "connect a data source" in answer


def test_a_workspace_without_sources_is_told_how_to_start(workspace):
    context = {"workspace": {"id": workspace.id, "name": "Acme"}, "sources": [], "analysis": {}}

    answer = "".join(stream("How many orders did I get?", context)[0])

    assert answer.startswith("Acme has no data source connected yet")


def test_source_help_explains_the_named_source():
    context = {"workspace": {"name": "Acme"}, "sources": []}

    answer = "".join(stream("how do I connect my Shopify store?", context)[0])

    assert "read_all_orders" in answer and "Google Tag Manager" not in answer
