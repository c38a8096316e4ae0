"""A real Celery worker killed with SIGKILL mid-job: the job is recovered by the beat task on another worker and
ends succeeded, with every event stored once and exact counters.

Runs with DATABASE_URL (PostgreSQL, shared with the worker processes) and REDIS_URL (the broker) set.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db.models import Count, Sum

from integrations.models import Customer, Event, SyncJob
from integrations.services import dummy_data_start
from integrations.tasks import jobs_recover_task
from marketing_ai.celery import celery_app
from tests.servers import database_url

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (django_settings.REDIS_URL and django_settings.DATABASE_IS_POSTGRES),
        reason="needs PostgreSQL and a Redis broker shared with worker processes",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 20_000


@pytest.fixture
def start_worker(settings):
    """Start Celery workers (main process + one pool child, in their own process group) on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings),
        "REDIS_URL": settings.REDIS_URL,
        "INGEST_BATCH_SIZE": "500",
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_STALE_SECONDS": "3",
    }
    workers = []

    def start() -> subprocess.Popen:
        command = [sys.executable, "-m", "celery", "-A", "marketing_ai", "worker", "--concurrency", "1"]
        command += ["--loglevel", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


def wait_for(condition, *, seconds: float, every: float = 0.2, action=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if action is not None:
            action()
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"gave up after {seconds} s")


def test_a_job_whose_worker_is_killed_mid_job_finishes_on_another_with_no_duplicates(workspace, settings, start_worker):
    settings.JOB_STALE_SECONDS = 3  # this process runs the recovery sweep's checks with the workers' setting
    celery_app.conf.task_always_eager = False  # publish to the real broker (the autouse fixture restores it)
    first = start_worker()
    job = dummy_data_start(workspace=workspace, source_type="gtm", count=EVENTS, seed=11)

    def progressed():
        job.refresh_from_db()
        return job.checkpoint.get("events", 0) >= 2_000 and job.status == "running"

    wait_for(progressed, seconds=120)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    job.refresh_from_db()
    stranded_at = job.events_count
    assert job.status == "running" and 0 < stranded_at < EVENTS

    start_worker()

    def finished():
        job.refresh_from_db()
        return job.status in ("succeeded", "failed")

    wait_for(finished, seconds=180, every=1.0, action=jobs_recover_task.delay)  # beat's sweep, sent repeatedly

    assert (job.status, job.error) == ("succeeded", "")
    assert job.recoveries >= 1 and job.attempts >= 2
    assert job.events_count == EVENTS and job.rejected_count == 0
    stored = Event.objects.filter(source=job.source).aggregate(
        rows=Count("id"), ids=Count("external_id", distinct=True)
    )
    assert stored == {"rows": EVENTS, "ids": EVENTS}
    totals = Customer.objects.filter(workspace=workspace).aggregate(events=Sum("event_count"))
    assert totals["events"] == EVENTS
    assert SyncJob.objects.filter(status="running").count() == 0
