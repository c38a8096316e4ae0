from celery import shared_task

from .files.tasks import file_analyse_task, files_recover_task  # noqa: F401 (registered with the worker)

# Registered here so the worker's autodiscovery (which imports `ai.tasks`) finds them.
from .predictions.tasks import (  # noqa: F401
    prediction_model_train_task,
    predictions_rescore_task,
    predictions_score_customers_task,
)


@shared_task
def usage_aggregate_task(days: int = 2) -> int:
    """Nightly: upsert the daily usage summaries of the last `days` days (idempotent)."""
    from .usage import usage_aggregate_recent

    return usage_aggregate_recent(days=days)
