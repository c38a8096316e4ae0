"""Answers of the offline provider, built from the question and the workspace context."""

from .base import ChatRequest


def answer_for(request: ChatRequest) -> str:
    question = next((m["content"] for m in reversed(request.messages) if m.get("role") == "user"), "")
    context = request.context or {}
    workspace = context.get("workspace") or {}
    if not workspace:
        return (
            "I can help you plan campaigns, understand your funnel and write content. "
            "Sign up and connect a data source (Google Tag Manager, the Meta Pixel, Shopify or a CSV) "
            f"so that I can answer from your own numbers. You asked: “{question.strip()[:200]}”."
        )
    return (
        f"Here is what I see for {workspace.get('name', 'your workspace')}. "
        "Ask me about your segments, your funnel or a campaign for one of your audiences."
    )
