from celery import shared_task

from .models import ContentJob


@shared_task
def content_generate_task(job_id: int) -> None:
    """Run one content job to completion (failures are recorded on the job); a finished job is left alone."""
    from .content import content_job_run

    content_job_run(job=ContentJob.objects.select_related("campaign__workspace", "requested_by").get(pk=job_id))


@shared_task
def approval_escalate_task() -> int:
    """Escalate the approval steps that passed their time limit (Celery beat, every 15 minutes)."""
    from .workflow import approval_escalate_overdue

    return approval_escalate_overdue()


@shared_task
def publications_due_task() -> int:
    """Queue the posts whose scheduled time has come (Celery beat, every minute)."""
    from .publishing import publications_due

    return publications_due()


@shared_task(acks_late=True)
def publication_publish_task(publication_id: int) -> None:
    """Publish one due post; a post already claimed by another worker is left alone."""
    from .publishing import publication_publish

    publication_publish(publication_id=publication_id)
