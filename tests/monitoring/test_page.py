"""The staff monitoring page: time series of the stored samples, readiness and alerts; nobody else sees it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import Alert, MetricSample

pytestmark = pytest.mark.django_db


def test_the_page_is_for_staff_only(logged_in_client):
    response = logged_in_client.get("/admin/monitoring/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_page_draws_the_stored_samples_and_lists_open_alerts(staff_client):
    now = timezone.now().replace(second=0, microsecond=0)
    for minutes_ago, requests in [(3, 120), (2, 80)]:
        MetricSample.objects.create(minute=now - timedelta(minutes=minutes_ago), name="http_requests", value=requests)
        MetricSample.objects.create(minute=now - timedelta(minutes=minutes_ago), name="events_ingested", value=900)
    Alert.objects.create(
        rule="failed_logins", subject="site", message="60 failed sign-ins in the last 10 minutes.", last_seen_at=now
    )

    response = staff_client.get("/admin/monitoring/?hours=1")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Requests per minute" in html and "Events ingested per minute" in html
    assert "Requests: 120" in html and "Requests: 80" in html  # hover values of the two minutes
    assert "60 failed sign-ins" in html
    assert "database: ok" in html
    assert "200" in html  # requests over the last hour


def test_without_samples_the_page_says_how_they_are_taken(staff_client):
    response = staff_client.get("/admin/monitoring/")

    assert response.status_code == 200
    assert "No samples in the last 6 h" in response.content.decode()


def test_staff_find_the_page_in_the_navigation_and_members_do_not(client, user, staff_user):
    client.force_login(staff_user)
    assert 'href="/admin/monitoring/"' in client.get("/admin/monitoring/").content.decode()

    client.force_login(user)
    assert 'href="/admin/monitoring/"' not in client.get("/dashboard/").content.decode()
