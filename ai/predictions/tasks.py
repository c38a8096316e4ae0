"""Celery entry points of predictions (registered through ai/tasks.py): thin wrappers over `jobs`."""

from celery import shared_task

from .jobs import prediction_model_train_run, predictions_rescore_all, predictions_score_customers


@shared_task(acks_late=True)
def prediction_model_train_task(model_id: int) -> None:
    """Train one queued model version; on success it becomes active and scores every customer."""
    prediction_model_train_run(model_id=model_id)


@shared_task(acks_late=True)
def predictions_score_customers_task(workspace_id: int, customer_ids: list[int]) -> int:
    """Rescore customers whose new events were just stored (nothing without an active model)."""
    return predictions_score_customers(workspace_id=workspace_id, customer_ids=customer_ids)


@shared_task
def predictions_rescore_task() -> int:
    """Beat, nightly: rescore every customer of every workspace with an active model."""
    return predictions_rescore_all()
