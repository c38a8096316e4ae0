from celery import shared_task

from .files.tasks import file_analyse_task, files_recover_task  # noqa: F401 (registered with the worker)


@shared_task
def usage_aggregate_task(days: int = 2) -> int:
    """Nightly: upsert the daily usage summaries of the last `days` days (idempotent)."""
    from .usage import usage_aggregate_recent

    return usage_aggregate_recent(days=days)
