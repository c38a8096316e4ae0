"""Celery application: configured from Django settings (CELERY_* names), and the one way to publish a task."""

import logging
import os
from collections.abc import Callable

from celery import Celery
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")

celery_app = Celery("marketing_ai")
celery_app.config_from_object("django.conf:settings", namespace="CELERY")
celery_app.autodiscover_tasks()
logger = logging.getLogger(__name__)
QUEUE_UNAVAILABLE = "The job queue is unavailable right now; try again in a minute."


def task_publish(task, *args) -> None:
    """Send the task to the broker, or raise ServiceUnavailable (503 + Retry-After) within seconds when the broker
    is unreachable (CELERY_TASK_PUBLISH_RETRY_POLICY bounds the wait). Eager mode runs it here, errors included."""
    from .errors import ServiceUnavailable

    if task.app.conf.task_always_eager:
        # Nothing would run a retry later, so this one run is the last attempt: a job records its failure, and the
        # caller gets the task's own error (a 502 for a provider outage) rather than Celery's Retry (a 500).
        task.apply(args=args, retries=task.max_retries or 0, throw=True)
        return
    try:
        task.apply_async(args=args)
    except (OperationalError, RedisError, OSError) as exc:
        logger.warning("Could not publish %s: the broker is unreachable (%s).", task.name, exc)
        raise ServiceUnavailable(QUEUE_UNAVAILABLE, retry_after=30) from exc


def task_publish_on_commit(task, *args, on_unavailable: Callable[[], None]) -> None:
    """Publish the task once the caller's transaction commits. With the broker unreachable, `on_unavailable` runs
    (it marks the waiting row failed with the reason, so nothing sits queued forever) and ServiceUnavailable
    reaches the caller."""
    from django.db import transaction

    from .errors import ServiceUnavailable

    def publish():
        try:
            task_publish(task, *args)
        except ServiceUnavailable:
            on_unavailable()
            raise

    transaction.on_commit(publish)
