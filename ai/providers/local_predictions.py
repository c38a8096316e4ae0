"""The offline provider's answers about predictions ("who is likely to buy next week?"), from the stored
predictions in the context (`context["predictions"]`, ai.predictions.selectors.predictions_summary)."""

import re

PREDICTION_QUESTION = re.compile(
    r"\b(likely|likeliest|most probable|going|about|expected|predict\w*|propensity|churn\w*|at risk|next order|"
    r"will)\b.{0,40}\b(buy|purchase|order|churn\w*|leave|lapse|come back|return)|\bchurn\w*\b|\bpredict\w*\b",
    re.IGNORECASE,
)


def is_prediction_question(question: str) -> bool:
    return bool(PREDICTION_QUESTION.search(question))


def predictions_answer(summary: dict) -> str:
    if not summary or not summary.get("available"):
        reason = (summary or {}).get("reason") or "No prediction model has been trained yet."
        return (
            f"I can't predict that yet, and I'd rather not guess. {reason} An admin can train the model on the "
            "Predictions page once there is enough history."
        )
    buyers = summary.get("likelyBuyers") or []
    if not buyers:
        return (
            "The model is trained, but no customer has enough history for a confident prediction yet, so I won't "
            "name anyone."
        )
    lines = [
        f"- {row['customer']}: {round(100 * row['purchase30d'])}% chance to buy in the next 30 days"
        + (f", next order expected around {row['nextOrderOn']}" if row.get("nextOrderOn") else "")
        + f" ({row['confidence']} confidence)"
        for row in buyers
    ]
    quality = ""
    if summary.get("auc") and summary.get("baselineAuc"):
        quality = (
            f" On the last 30 days it did not learn from, it ranked buyers with an AUC of {summary['auc']:.2f} "
            f"(recency alone: {summary['baselineAuc']:.2f})."
        )
    skipped = summary.get("insufficient") or 0
    caveat = f" {skipped} customer(s) have too little history to predict." if skipped else ""
    return (
        f"{summary.get('likelyBuyersCount', 0)} customers have at least a 50% chance to buy in the next 30 days "
        f"(model v{summary.get('version')}). The likeliest:\n" + "\n".join(lines) + "\n" + quality + caveat
    ).strip()
