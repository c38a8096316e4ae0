"""Jobs survive dead workers: heartbeats, the recovery sweep, one owner per job, retry and cancel for editors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership
from integrations import dummy
from integrations.adapters import gtm
from integrations.jobs import job_run, jobs_recover_stale
from integrations.models import Customer, Event, SyncJob
from integrations.pipeline.runner import JobLost, items_map, job_batches_run
from integrations.services import dummy_data_start, job_cancel
from tests.campaigns.factories import member
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the job's own code gets to handle it."""


@pytest.fixture
def dying_stream(monkeypatch):
    """The dummy generator dies (as the process would) once `events` have been read; the row stays `running`."""
    real_stream = dummy.raw_stream

    def arm(events: int):
        def stream(**kwargs):
            for produced, event in enumerate(real_stream(**kwargs)):
                if produced == events:
                    raise WorkerKilled
                yield event

        monkeypatch.setattr(dummy, "raw_stream", stream)

    arm.real = real_stream
    return arm


def run_until_killed(workspace, settings, dying_stream, *, count=200, killed_at=100) -> SyncJob:
    settings.INGEST_BATCH_SIZE = 40
    dying_stream(killed_at)
    job = dummy_data_start(workspace=workspace, source_type="gtm", count=count, seed=5)
    with pytest.raises(WorkerKilled):
        job_run(job_id=job.id)
    job.refresh_from_db()
    return job


def heartbeat_stops(job: SyncJob, seconds_ago: int = 600) -> None:
    SyncJob.objects.filter(id=job.id).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds_ago))


def test_a_killed_run_leaves_the_job_running_at_its_last_committed_batch(workspace, settings, dying_stream):
    job = run_until_killed(workspace, settings, dying_stream)

    assert job.status == "running" and job.checkpoint == {"events": 80} and job.events_count == 80
    assert job.heartbeat_at is not None and Event.objects.count() == 80


def test_the_sweep_resumes_a_job_whose_heartbeat_stopped_from_its_checkpoint_with_exact_counts(
    workspace, settings, dying_stream, django_capture_on_commit_callbacks
):
    job = run_until_killed(workspace, settings, dying_stream)
    dying_stream(10_000)  # the next worker lives
    heartbeat_stops(job)

    with django_capture_on_commit_callbacks(execute=True):
        counts = jobs_recover_stale()

    job.refresh_from_db()
    assert counts == {"requeued": 1, "failed": 0, "republished": 0}
    assert (job.status, job.events_count, job.recoveries, job.attempts) == ("succeeded", 200, 1, 2)
    assert Event.objects.count() == 200
    assert sum(Customer.objects.values_list("event_count", flat=True)) == 200


def test_a_job_whose_worker_keeps_dying_fails_with_the_reason(workspace, settings, dying_stream):
    settings.JOB_MAX_RECOVERIES = 1
    job = run_until_killed(workspace, settings, dying_stream)
    SyncJob.objects.filter(id=job.id).update(recoveries=1)
    heartbeat_stops(job)

    counts = jobs_recover_stale()

    job.refresh_from_db()
    assert counts["failed"] == 1 and job.status == "failed" and job.finished_at is not None
    assert "stopped 2 times" in job.error and "Retry" in job.error


def test_the_sweep_leaves_a_job_with_a_fresh_heartbeat_alone(workspace, settings, dying_stream):
    job = run_until_killed(workspace, settings, dying_stream)

    assert jobs_recover_stale() == {"requeued": 0, "failed": 0, "republished": 0}
    job.refresh_from_db()
    assert job.status == "running" and job.attempts == 1


def test_a_second_delivery_of_a_live_job_does_nothing(workspace, settings, dying_stream):
    job = run_until_killed(workspace, settings, dying_stream)
    dying_stream(10_000)

    assert job_run(job_id=job.id) is None

    job.refresh_from_db()
    assert (job.status, job.events_count, job.attempts) == ("running", 80, 1)
    assert Event.objects.count() == 80


def test_a_redelivered_task_of_a_dead_run_resumes_it(workspace, settings, dying_stream):
    job = run_until_killed(workspace, settings, dying_stream)
    dying_stream(10_000)
    heartbeat_stops(job)

    job_run(job_id=job.id)

    job.refresh_from_db()
    assert (job.status, job.events_count, job.recoveries) == ("succeeded", 200, 1)
    assert Event.objects.count() == 200


def test_a_run_presumed_dead_that_comes_back_stores_and_counts_nothing(workspace, settings, dying_stream):
    old_run = run_until_killed(workspace, settings, dying_stream)
    dying_stream(10_000)
    heartbeat_stops(old_run)
    job_run(job_id=old_run.id)  # another worker took the job over and finished it
    raw = list(dummy.raw_stream(source_type="gtm", count=10, seed=99))
    late_batch = items_map(items=raw, mapper=gtm.map_item, received_at=timezone.now())

    with pytest.raises(JobLost):
        job_batches_run(job=old_run, batches=iter([({"events": 120}, late_batch)]))

    job = SyncJob.objects.get(id=old_run.id)
    assert (job.status, job.events_count, job.checkpoint) == ("succeeded", 200, {"events": 200})
    assert Event.objects.count() == 200


def test_cancelling_a_running_job_stops_it_before_its_next_batch(workspace, user, settings, dying_stream):
    job = run_until_killed(workspace, settings, dying_stream)
    dying_stream(10_000)
    job_cancel(job=job, user=user)
    running = SyncJob.objects.get(id=job.id)
    running.status = "running"  # the worker's copy, from before the cancel
    raw = list(dummy.raw_stream(source_type="gtm", count=10, seed=99))
    batch = items_map(items=raw, mapper=gtm.map_item, received_at=timezone.now())

    with pytest.raises(JobLost):
        job_batches_run(job=running, batches=iter([({"events": 120}, batch)]))

    job.refresh_from_db()
    assert (job.status, job.events_count) == ("cancelled", 80) and "Cancelled by" in job.error
    assert Event.objects.count() == 80


# The API and the page: editors retry and cancel; viewers see no buttons and get 403; other workspaces 404.


def failed_job(workspace) -> SyncJob:
    return SyncJob.objects.create(
        workspace=workspace,
        source=None,
        kind=SyncJob.Kind.DUMMY_DATA,
        status=SyncJob.Status.FAILED,
        params={"count": 30, "seed": 1},
        total=30,
        error="The worker running this job stopped 4 times.",
    )


def test_an_editor_retries_a_failed_job_and_it_resumes(workspace, django_capture_on_commit_callbacks):
    from integrations.services import dummy_source_get_or_create

    editor = member(workspace=workspace, role=Membership.Role.EDITOR)
    job = failed_job(workspace)
    SyncJob.objects.filter(id=job.id).update(source=dummy_source_get_or_create(workspace=workspace, source_type="gtm"))

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(editor).post(f"/api/jobs/{job.id}/retry")

    assert response.status_code == 202 and response.json()["job"]["status"] == "queued"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.events_count == 30 and job.error == ""


def test_retrying_a_job_that_did_not_fail_is_a_409(jwt_api_client, workspace):
    job = failed_job(workspace)
    SyncJob.objects.filter(id=job.id).update(status=SyncJob.Status.SUCCEEDED)

    response = jwt_api_client.post(f"/api/jobs/{job.id}/retry")

    assert response.status_code == 409 and response.json()["statusCode"] == 409


def test_cancelling_a_queued_job_answers_it_cancelled_and_twice_is_a_409(jwt_api_client, workspace):
    job = failed_job(workspace)
    SyncJob.objects.filter(id=job.id).update(status=SyncJob.Status.QUEUED, error="")

    first = jwt_api_client.post(f"/api/jobs/{job.id}/cancel")
    second = jwt_api_client.post(f"/api/jobs/{job.id}/cancel")

    assert first.status_code == 200 and first.json()["job"]["status"] == "cancelled"
    assert second.status_code == 409 and "cancelled" in second.json()["message"]


def test_a_viewer_may_not_retry_or_cancel(workspace):
    viewer = api_client_for(member(workspace=workspace, role=Membership.Role.VIEWER))
    job = failed_job(workspace)

    retry, cancel = viewer.post(f"/api/jobs/{job.id}/retry"), viewer.post(f"/api/jobs/{job.id}/cancel")

    assert (retry.status_code, cancel.status_code) == (403, 403)
    assert retry.json() == {
        "statusCode": 403,
        "message": "Your role (viewer) cannot start, retry or cancel syncs, imports and demo data.",
    }
    job.refresh_from_db()
    assert job.status == "failed"


def test_another_workspaces_job_is_a_404(other_jwt_api_client, workspace):
    job = failed_job(workspace)

    assert other_jwt_api_client.post(f"/api/jobs/{job.id}/retry").status_code == 404
    assert other_jwt_api_client.post(f"/api/jobs/{job.id}/cancel").status_code == 404


def test_the_source_page_offers_retry_to_editors_only(client, workspace, gtm_source):
    job = failed_job(workspace)
    SyncJob.objects.filter(id=job.id).update(source=gtm_source)
    editor = member(workspace=workspace, role=Membership.Role.EDITOR)
    viewer = member(workspace=workspace, role=Membership.Role.VIEWER)

    client.force_login(editor)
    as_editor = client.get(f"/sources/{gtm_source.id}/").content.decode()
    client.force_login(viewer)
    as_viewer = client.get(f"/sources/{gtm_source.id}/").content.decode()

    assert f"/sources/jobs/{job.id}/retry/" in as_editor
    assert "/retry/" not in as_viewer and "stopped 4 times" in as_viewer


def test_jobs_that_ended_long_ago_are_purged_and_running_ones_kept(workspace, settings):
    from integrations.tasks import jobs_purge_task

    settings.RETENTION_DAYS = 30
    old, recent, running = failed_job(workspace), failed_job(workspace), failed_job(workspace)
    SyncJob.objects.filter(id=old.id).update(finished_at=timezone.now() - timedelta(days=31))
    SyncJob.objects.filter(id=recent.id).update(finished_at=timezone.now() - timedelta(days=1))
    SyncJob.objects.filter(id=running.id).update(status="running", finished_at=None)

    assert jobs_purge_task() == {"jobs": 1, "webhook_deliveries": 0}
    assert set(SyncJob.objects.values_list("id", flat=True)) == {recent.id, running.id}
