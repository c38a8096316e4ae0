"""The minute task stores the previous minute's figures from the shared tallies and the database, and drops
samples past the retention."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ai.models import ProviderCall
from monitoring.models import MetricSample
from monitoring.sampling import samples_take
from monitoring.tally import http_tally

pytestmark = pytest.mark.django_db


def _minute_with_room(seconds: float = 15.0):
    """Now, or the start of the next minute when this one ends within `seconds`: what a test does then falls in one
    minute (a loaded machine can take seconds over a few requests)."""
    now = timezone.now()
    left = 60 - now.second - now.microsecond / 1_000_000
    if left < seconds:
        time.sleep(left + 0.05)
    return timezone.now()


def test_the_previous_minute_is_stored_from_real_requests_and_calls(jwt_api_client, workspace, settings):
    started = _minute_with_room()
    for _ in range(4):
        assert jwt_api_client.get("/api/user/profile").status_code == 200
    assert jwt_api_client.get("/api/data-sources/424242").status_code == 404
    ProviderCall.objects.create(workspace=workspace, provider="groq", status="error", cost=Decimal("0.5"))
    http_tally.flush()

    figures = samples_take(now=started + timedelta(minutes=1))

    minute = started.replace(second=0, microsecond=0)
    stored = dict(MetricSample.objects.filter(minute=minute).values_list("name", "value"))
    assert stored["http_requests"] >= 5  # this test's requests (a minute can hold other tests' too)
    assert stored["provider_calls"] == 1 and stored["provider_failures"] == 1
    assert stored["provider_cost"] == pytest.approx(0.5)
    assert stored == pytest.approx(figures)


def test_taking_a_minute_twice_keeps_one_row_per_metric(workspace):
    now = timezone.now()
    samples_take(now=now)
    samples_take(now=now)

    minute = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
    assert MetricSample.objects.filter(minute=minute, name="provider_calls").count() == 1


def test_samples_older_than_the_retention_are_deleted(settings):
    settings.MONITORING_RETENTION_DAYS = 3
    old = timezone.now().replace(second=0, microsecond=0) - timedelta(days=4)
    MetricSample.objects.create(minute=old, name="http_requests", value=7)

    samples_take()

    assert not MetricSample.objects.filter(minute=old).exists()
    assert MetricSample.objects.exists()
