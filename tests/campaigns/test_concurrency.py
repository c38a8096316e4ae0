"""Concurrent state changes on one campaign are serialized by its row lock: each answers 2xx, 404 or 409."""

import threading

import pytest
from django.conf import settings
from django.db import connection

from campaigns.models import ApprovalWorkflow, Campaign
from tests.conftest import api_client_for

from .factories import CampaignFactory, scored_variant

pytestmark = [
    pytest.mark.django_db(transaction=True),  # each request thread commits on its own connection
    # SQLite's in-memory test database (shared cache) refuses a second writer instead of waiting for it.
    pytest.mark.skipif(not settings.DATABASE_IS_POSTGRES, reason="needs concurrent writers (PostgreSQL)"),
]


def race(*calls) -> list[int]:
    """Run the (client, method, path) calls at the same moment, each in its own thread; their status codes."""
    barrier, statuses = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index, client, method, path):
        try:
            barrier.wait()
            statuses[index] = getattr(client, method)(path, {}, format="json").status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, *call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_submit_and_delete_racing_answer_409_or_404_and_leave_a_consistent_campaign(workspace, user):
    submitter, deleter = api_client_for(user), api_client_for(user)
    answers = []
    for _ in range(6):
        campaign = CampaignFactory(workspace=workspace, created_by=user)
        scored_variant(campaign=campaign, user=user)

        submitted, deleted = race(
            (submitter, "post", f"/api/campaigns/{campaign.pk}/submit"),
            (deleter, "delete", f"/api/campaigns/{campaign.pk}"),
        )

        answers.append((submitted, deleted))
        remaining = Campaign.objects.filter(pk=campaign.pk).first()
        if remaining is None:  # the delete won: the submit found nothing
            assert (submitted, deleted) == (404, 204)
            assert not ApprovalWorkflow.objects.filter(campaign_id=campaign.pk).exists()
        else:  # the submit won: a campaign under review cannot be deleted
            assert (submitted, deleted) == (200, 409)
            assert remaining.status == "in_review" and remaining.workflows.count() == 1
    assert all(500 not in pair for pair in answers)
