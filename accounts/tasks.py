"""Celery entry points of the accounts app (thin: the work is in its modules)."""

from celery import shared_task

from .retention import accounts_purge


@shared_task
def accounts_purge_task() -> dict:
    """Beat, daily: drop ended login sessions and expired counters past RETENTION_DAYS."""
    return accounts_purge()
