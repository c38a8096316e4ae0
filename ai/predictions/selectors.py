"""Prediction reads, scoped to the actor's workspace (another workspace's model is a 404)."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.selectors import workspace_current_for_user
from marketing_ai.errors import NotFound

from .models import CustomerPrediction, PredictionModel

# Audience rule fields (integrations/audiences/rules.py PREDICTION_FIELDS) -> prediction columns.
RULE_COLUMNS = {"purchase30d": "purchase_30d", "churnRisk": "churn_risk", "value90d": "value_90d"}
CONFIDENT = ~Q(confidence=CustomerPrediction.Confidence.INSUFFICIENT)


def prediction_model_list_for_user(*, user: User) -> QuerySet[PredictionModel]:
    return PredictionModel.objects.filter(workspace=workspace_current_for_user(user=user)).defer("artifact")


def prediction_model_get_for_user(*, user: User, model_id: int) -> PredictionModel:
    model = PredictionModel.objects.filter(workspace=workspace_current_for_user(user=user), id=model_id).first()
    if model is None:
        raise NotFound("Model not found.")
    return model


def prediction_model_active(*, workspace_id: int) -> PredictionModel | None:
    return PredictionModel.objects.filter(workspace_id=workspace_id, is_active=True).defer("artifact").first()


def prediction_for_customer(*, customer) -> CustomerPrediction | None:
    return CustomerPrediction.objects.filter(customer=customer, workspace_id=customer.workspace_id).first()


def predictions_for_customers(*, workspace_id: int, customer_ids: list[int]) -> dict[int, CustomerPrediction]:
    """The predictions of these customers (one query), by customer id."""
    rows = CustomerPrediction.objects.filter(workspace_id=workspace_id, customer_id__in=customer_ids)
    return {row.customer_id: row for row in rows}


def prediction_condition(*, workspace, field: str, op: str, value: Decimal) -> Q:
    """An audience rule over predictions as a filter on customers: only confident predictions ever match."""
    if field == "nextOrderDays":
        day = timezone.localdate() + timedelta(days=int(value))
        column, value = "next_order_on", day
    else:
        column = RULE_COLUMNS[field]
    matching = CustomerPrediction.objects.filter(CONFIDENT, workspace=workspace, **{f"{column}__{op}": value})
    return Q(id__in=matching.values("customer_id"))


def likely_buyers(*, workspace_id: int, limit: int = 10) -> QuerySet[CustomerPrediction]:
    """The customers most likely to buy in the next 30 days, with confident predictions only."""
    return (
        CustomerPrediction.objects.filter(CONFIDENT, workspace_id=workspace_id)
        .select_related("customer")
        .order_by("-purchase_30d", "customer_id")[:limit]
    )


def churn_risks(*, workspace_id: int, limit: int = 10) -> QuerySet[CustomerPrediction]:
    """Customers who bought before and are the most likely to go quiet, confident predictions only."""
    return (
        CustomerPrediction.objects.filter(CONFIDENT, workspace_id=workspace_id, customer__purchase_count__gt=0)
        .select_related("customer")
        .order_by("-churn_risk", "customer_id")[:limit]
    )


def predictions_summary(*, workspace_id: int, limit: int = 5) -> dict:
    """What the chat knows about predictions: the model's state and quality and the likeliest buyers."""
    model = prediction_model_active(workspace_id=workspace_id)
    if model is None:
        latest = PredictionModel.objects.filter(workspace_id=workspace_id).defer("artifact").first()
        return {
            "available": False,
            "reason": latest.message if latest and latest.message else "No prediction model has been trained yet.",
        }
    head = model.metrics.get("purchase30d", {})
    buyers = [
        {
            "customer": row.customer.email or row.customer.customer_key,
            "purchase30d": row.purchase_30d,
            "confidence": row.confidence,
            "nextOrderOn": row.next_order_on,
        }
        for row in likely_buyers(workspace_id=workspace_id, limit=limit)
    ]
    confident = CustomerPrediction.objects.filter(CONFIDENT, workspace_id=workspace_id)
    return {
        "available": True,
        "version": model.version,
        "auc": head.get("auc"),
        "baselineAuc": head.get("baselineAuc"),
        "likelyBuyers": buyers,
        "likelyBuyersCount": confident.filter(purchase_30d__gte=0.5).count(),
        "scored": model.scored_customers,
        "insufficient": CustomerPrediction.objects.filter(
            workspace_id=workspace_id, confidence=CustomerPrediction.Confidence.INSUFFICIENT
        ).count(),
    }


PREDICTION_LABELS = {
    "purchase30d": "Chance to buy in the next 30 days",
    "churnRisk": "Churn risk (no activity in 30 days)",
    "nextOrderOn": "Expected next order",
    "value90d": "Predicted value, next 90 days",
}


def customer_predictions_data(*, customer) -> dict:
    """The customer's predictions as the API and pages show them: each with its `value` and `confidence`, or
    `available: false` with the reason when the app cannot predict this customer (yet)."""
    row = (
        CustomerPrediction.objects.filter(customer=customer, workspace_id=customer.workspace_id)
        .select_related("model")
        .defer("model__artifact")
        .first()
    )
    if row is None:
        model = prediction_model_active(workspace_id=customer.workspace_id)
        reason = (
            "This customer has no activity in the last year to predict from."
            if model
            else "No prediction model has been trained for this workspace yet."
        )
        return {"available": False, "reason": reason}
    if row.confidence == CustomerPrediction.Confidence.INSUFFICIENT:
        return {
            "available": False,
            "reason": f"Not enough data to predict this customer yet ({row.events} event(s) in the last year).",
            "confidence": row.confidence,
            "modelVersion": row.model.version,
        }
    values = {
        "purchase30d": row.purchase_30d,
        "churnRisk": row.churn_risk,
        "nextOrderOn": row.next_order_on,
        "value90d": str(row.value_90d) if row.value_90d is not None else None,
    }
    return {
        "available": True,
        **{
            key: {"value": value, "confidence": row.confidence, "label": PREDICTION_LABELS[key]}
            for key, value in values.items()
        },
        "confidence": row.confidence,
        "events": row.events,
        "modelVersion": row.model.version,
        "scoredAt": row.scored_at.isoformat(),
    }
