"""The running side of predictions (Celery tasks call these): train a queued version, make a version the active
one, and score customers with it (all after training or rollback, a few when their new events arrive)."""

import io
import logging
import pickle
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from integrations.analysis.customer_features import FEATURE_NAMES, customer_features
from integrations.rollups import analysis_time_zone

from .models import CustomerPrediction, PredictionModel
from .training import (
    NotEnoughData,
    confidence_for,
    expected_days_to_order,
    expected_spend,
    probabilities,
    train,
)

logger = logging.getLogger(__name__)
SCORE_BATCH = 5000
ACTIVE_DAYS = FEATURE_NAMES.index("active_days")


def prediction_model_train_run(*, model_id: int) -> PredictionModel | None:
    """Train one queued version; on success it becomes the active one and scores every customer. Refusals (too little
    data) and failures are recorded on the version, and the active version stays as it was."""
    claimed = PredictionModel.objects.filter(id=model_id, status=PredictionModel.Status.QUEUED).update(
        status=PredictionModel.Status.TRAINING, started_at=timezone.now(), progress=5
    )
    model = PredictionModel.objects.filter(id=model_id).select_related("workspace").first()
    if not claimed or model is None:
        return model
    try:
        with timezone.override(analysis_time_zone(workspace_id=model.workspace_id)):
            trained = train(workspace_id=model.workspace_id)
    except NotEnoughData as refusal:
        return _finished(model, status=PredictionModel.Status.REFUSED, message=" ".join(refusal.reasons)[:500])
    except Exception:
        logger.exception("Training prediction model %s failed", model_id)
        return _finished(model, status=PredictionModel.Status.FAILED, message="Training failed; see the server log.")
    buffer = io.BytesIO()
    pickle.dump(trained.estimators, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    model.artifact, model.metrics, model.split = buffer.getvalue(), trained.metrics, trained.split
    model.algorithm, model.training_seconds, model.progress = trained.algorithm, trained.seconds, 60
    model.save(
        update_fields=["artifact", "metrics", "split", "algorithm", "training_seconds", "progress", "updated_at"]
    )
    prediction_model_make_active(model=model)
    return _finished(model, status=PredictionModel.Status.READY, message="")


def _finished(model: PredictionModel, *, status: str, message: str) -> PredictionModel:
    model.status, model.message, model.finished_at, model.progress = status, message, timezone.now(), 100
    model.save(update_fields=["status", "message", "finished_at", "progress", "updated_at"])
    return model


def prediction_model_make_active(*, model: PredictionModel) -> PredictionModel:
    """Make this trained version the one that scores (the others of its kind stop) and rescore every customer."""
    with transaction.atomic():
        PredictionModel.objects.filter(workspace=model.workspace, kind=model.kind, is_active=True).exclude(
            id=model.id
        ).update(is_active=False)
        model.is_active, model.activated_at = True, timezone.now()
        model.save(update_fields=["is_active", "activated_at", "updated_at"])
        model.scored_customers = predictions_score(model=model)
        model.save(update_fields=["scored_customers", "updated_at"])
    return model


@lru_cache(maxsize=16)
def _estimators(model_id: int) -> dict:
    """The fitted estimators of a version, unpickled once per process (the artifact is our own, from our database)."""
    artifact = PredictionModel.objects.filter(id=model_id).values_list("artifact", flat=True).first()
    return pickle.loads(bytes(artifact))  # noqa: S301 (written by prediction_model_train_run only)


def estimators_for(model: PredictionModel) -> dict:
    return _estimators(model.id)  # a version's estimators never change once trained


def predictions_score(*, model: PredictionModel, customer_ids: list[int] | None = None) -> int:
    """Score the workspace's customers (or these) with `model` as of today: upsert one row per customer."""
    estimators = estimators_for(model)
    zone = analysis_time_zone(workspace_id=model.workspace_id)
    with timezone.override(zone):
        today = timezone.localdate()
    features = customer_features(
        workspace_id=model.workspace_id, as_of=today + timedelta(days=1), customer_ids=customer_ids
    )
    auc = (model.metrics.get("purchase30d") or {}).get("auc")
    now, scored = timezone.now(), 0
    for start in range(0, len(features), SCORE_BATCH):
        batch = features[start : start + SCORE_BATCH]
        rows = _prediction_rows(model, estimators, batch, today=today, now=now, auc=auc)
        CustomerPrediction.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["customer"],
            update_fields=[
                "model",
                "purchase_30d",
                "churn_risk",
                "next_order_on",
                "value_90d",
                "confidence",
                "events",
                "scored_at",
            ],
        )
        scored += len(rows)
    return scored


def _prediction_rows(model, estimators: dict, batch: list, *, today, now, auc) -> list[CustomerPrediction]:
    x = np.array([row.values for row in batch], dtype=float).reshape(len(batch), len(FEATURE_NAMES))
    # No model is sure of a person: shown chances stay within 1-99%.
    p_buy = np.clip(probabilities(estimators["purchase"], x), 0.01, 0.99)
    p_churn = np.clip(probabilities(estimators["churn"], x), 0.01, 0.99)
    value_90 = expected_spend(estimators, x, p_buy, days=90)
    rows = []
    for i, row in enumerate(batch):
        confidence = confidence_for(events=row.events, active_days=x[i, ACTIVE_DAYS], model_auc=auc)
        known = confidence != CustomerPrediction.Confidence.INSUFFICIENT
        rows.append(
            CustomerPrediction(
                workspace_id=model.workspace_id,
                customer_id=row.customer_id,
                model=model,
                purchase_30d=round(float(p_buy[i]), 4) if known else None,
                churn_risk=round(float(p_churn[i]), 4) if known else None,
                next_order_on=today + timedelta(days=expected_days_to_order(float(p_buy[i]))) if known else None,
                value_90d=Decimal(f"{value_90[i]:.2f}") if known else None,
                confidence=confidence,
                events=row.events,
                scored_at=now,
            )
        )
    return rows


def predictions_score_customers(*, workspace_id: int, customer_ids: list[int]) -> int:
    """New events of these customers: rescore them with the workspace's active model (nothing without one)."""
    if not customer_ids:
        return 0
    model = PredictionModel.objects.filter(workspace_id=workspace_id, is_active=True).defer("artifact").first()
    if model is None:
        return 0
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        return predictions_score(model=model, customer_ids=customer_ids)


def _commit_without_waiting_for_disk() -> None:
    """Predictions are derived data: a database crash right after this commit can lose it, and the next events or
    the nightly rescoring write it again. The wait for the disk would be a large part of a one-customer rescoring."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def predictions_rescore_all() -> int:
    """Rescore every workspace's customers with its active model; returns the customers scored."""
    scored = 0
    for model in PredictionModel.objects.filter(is_active=True).defer("artifact").select_related("workspace"):
        scored += predictions_score(model=model)
    return scored
