from celery import shared_task

from marketing_ai.celery import task_publish

from .runs import file_analyse, files_stale_requeue


@shared_task(acks_late=True)
def file_analyse_task(upload_id: int) -> None:
    """Run one file's analysis to its end; safe to run twice (a run already done or alive elsewhere is left)."""
    file_analyse(upload_id=upload_id)


@shared_task
def files_recover_task() -> int:
    """Beat: re-queue the analyses whose worker went silent; returns how many."""
    requeued = files_stale_requeue()
    for upload_id in requeued:
        task_publish(file_analyse_task, upload_id)
    return len(requeued)
