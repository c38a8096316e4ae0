"""The staff monitoring page in a browser: charts of the stored samples, the open alerts, nothing sideways on a
phone. With SHOTS_DIR set it also saves both screenshots (README "Operations")."""

import os
import random
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from monitoring.models import Alert, MetricSample

from .conftest import sign_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def samples(transactional_db):
    """Six hours of minutes shaped like a working day, with an error burst and an alert."""
    rng, now = random.Random(3), timezone.now().replace(second=0, microsecond=0)
    rows = []
    for minutes_ago in range(360, 0, -1):
        minute = now - timedelta(minutes=minutes_ago)
        requests = 300 + 150 * ((360 - minutes_ago) / 360) + rng.randint(-40, 40)
        burst = 40 <= minutes_ago <= 48
        figures = {
            "http_requests": requests,
            "http_errors": rng.randint(20, 40) if burst else rng.randint(0, 2),
            "http_latency_ms": rng.uniform(35, 60) + (120 if burst else 0),
            "events_ingested": rng.randint(800, 1400),
            "provider_calls": rng.randint(4, 12),
            "provider_failures": rng.randint(2, 6) if burst else 0,
            "provider_tokens": rng.randint(4000, 9000),
            "provider_cost": rng.uniform(0.01, 0.05),
            "jobs_queued": rng.randint(0, 3),
            "job_oldest_age_s": rng.uniform(0, 20),
            "failed_logins": rng.randint(0, 3),
        }
        rows += [MetricSample(minute=minute, name=name, value=value) for name, value in figures.items()]
    MetricSample.objects.bulk_create(rows)
    Alert.objects.create(
        rule="error_rate",
        subject="site",
        message="9% of requests failed with a server error (31 of 344).",
        value=0.09,
        last_seen_at=now - timedelta(minutes=40),
    )


def _shoot(page, name: str) -> None:
    if os.environ.get("SHOTS_DIR"):
        Path(os.environ["SHOTS_DIR"]).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(os.environ["SHOTS_DIR"]) / name), full_page=True)


@pytest.mark.parametrize("width,height", [(1366, 900), (390, 844)])
def test_staff_see_the_time_series_and_open_alerts(chromium, live_asgi_server, samples, width, height):
    staff = User.objects.create_user(email="ops@site.test", password="Ops-Passw0rd!", is_staff=True)
    context = chromium.new_context(base_url=live_asgi_server, viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, staff, live_asgi_server)

    response = page.goto("/admin/monitoring/")

    assert response.status == 200
    expect(page.get_by_role("heading", name="Monitoring")).to_be_visible()
    expect(page.locator("svg.time-chart")).to_have_count(7)
    expect(page.get_by_text("9% of requests failed")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    _shoot(page, f"monitoring-{width}.png")
    context.close()
