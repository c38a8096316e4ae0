from celery import shared_task

from .alerts import alerts_evaluate
from .sampling import samples_take


@shared_task(ignore_result=True)
def monitoring_minute_task() -> dict:
    """Store the last minute's samples, then evaluate the alert rules (beat, every minute)."""
    samples_take()
    return alerts_evaluate()
