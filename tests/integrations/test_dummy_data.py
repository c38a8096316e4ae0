"""Dummy data: raw provider formats through the real mappers, every event type, a shared pool, reproducible."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from integrations import dummy
from integrations.jobs import job_run
from integrations.models import Customer, DataSource, Event, SyncJob
from integrations.services import dummy_data_start, job_retry

pytestmark = pytest.mark.django_db


def generate(workspace, source_type, count=None, seed=7) -> SyncJob:
    job = dummy_data_start(workspace=workspace, source_type=source_type, count=count, seed=seed)
    job_run(job_id=job.id)
    job.refresh_from_db()
    return job


def test_raw_events_are_in_each_providers_own_format():
    gtm = next(dummy.raw_stream(source_type="gtm", count=1, seed=1))
    assert {"tagId", "triggerId", "pageUrl", "userId", "sessionId", "timestamp", "userAgent"} <= set(gtm)
    pixel = next(dummy.raw_stream(source_type="facebook_pixel", count=1, seed=1))
    assert {"eventId", "pixelId", "userId", "timestamp", "userAgent"} <= set(pixel)
    orders = [e for e in dummy.raw_stream(source_type="shopify", count=200, seed=1) if e["eventName"] == "order"]
    assert {"orderId", "customerId", "productId", "productPrice", "quantity", "totalPrice"} <= set(orders[0])


def test_the_default_run_makes_50_to_100_events_in_a_dummy_source(workspace):
    job = dummy_data_start(workspace=workspace, source_type="gtm")
    job_run(job_id=job.id)
    job.refresh_from_db()
    source = DataSource.objects.get(name="Dummy gtm Data")
    assert source.is_dummy and job.status == "succeeded" and 50 <= job.events_count <= 100
    assert Event.objects.filter(source=source).count() == job.events_count
    assert job.rejected_count == 0


def test_gtm_dummy_data_produces_every_event_type(workspace):
    generate(workspace, "gtm", count=400)
    assert set(Event.objects.values_list("event_type", flat=True)) == set(Event.EventType.values)


def test_pixel_and_shopify_dummy_data_produce_their_providers_types(workspace):
    generate(workspace, "facebook_pixel", count=300)
    generate(workspace, "shopify", count=300)
    pixel = set(Event.objects.filter(source__source_type="facebook_pixel").values_list("event_type", flat=True))
    shop = set(Event.objects.filter(source__source_type="shopify").values_list("event_type", flat=True))
    assert pixel == set(Event.EventType.values) - {"remove_from_cart", "refund"}
    assert shop == set(Event.EventType.values) - {"lead"}


def test_the_funnel_narrows_and_every_segment_has_customers(workspace):
    for source_type in ("gtm", "facebook_pixel", "shopify"):
        generate(workspace, source_type, count=600)
    counts = dict(Event.objects.values_list("event_type").annotate(n=Count("id")))
    assert counts["page_view"] > counts["add_to_cart"] > counts["purchase"] > 0
    customers = Customer.objects.all()
    assert customers.filter(purchase_count__gte=2).exists()  # repeat buyers
    assert customers.filter(total_value__gt=100).exists()  # big spenders
    assert customers.filter(purchase_count=0).exists()
    viewers_only = [key for key, types in _types_by_customer().items() if types == {"page_view"}]
    assert viewers_only
    assert any(len(types) >= 3 for types in _types_by_customer().values())
    # one pool across sources: the same customer key appears in all three
    keys = {
        st: set(Event.objects.filter(source__source_type=st).values_list("customer_key", flat=True))
        for st in ("gtm", "facebook_pixel", "shopify")
    }
    assert keys["gtm"] & keys["facebook_pixel"] & keys["shopify"]
    assert customers.exclude(email="").exists() and customers.exclude(email_sha256="").exists()


def _types_by_customer() -> dict[str, set]:
    result: dict[str, set] = {}
    for key, event_type in Event.objects.values_list("customer_key", "event_type"):
        result.setdefault(key, set()).add(event_type)
    return result


def test_a_seed_makes_the_data_reproducible():
    first = list(dummy.raw_stream(source_type="shopify", count=150, seed=42))
    again = list(dummy.raw_stream(source_type="shopify", count=150, seed=42))
    other = list(dummy.raw_stream(source_type="shopify", count=150, seed=43))
    assert first == again and first != other


def test_a_dummy_job_that_dies_midway_resumes_from_its_checkpoint(workspace, settings, monkeypatch):
    settings.INGEST_BATCH_SIZE = 40
    real_stream = dummy.raw_stream

    def dying_stream(**kwargs):
        for produced, event in enumerate(real_stream(**kwargs)):
            if produced == 100:
                raise MemoryError("worker killed")  # the process dies while the third batch is being read
            yield event

    monkeypatch.setattr(dummy, "raw_stream", dying_stream)
    job = dummy_data_start(workspace=workspace, source_type="gtm", count=200, seed=5)
    with pytest.raises(MemoryError):
        job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.status == "failed" and job.checkpoint == {"events": 80} and Event.objects.count() == 80

    monkeypatch.setattr(dummy, "raw_stream", real_stream)
    job_retry(job=job)
    job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status == "succeeded" and job.events_count == 200
    expected = {f"{e['eventName']}:{e['eventId']}" for e in real_stream(source_type="gtm", count=200, seed=5)}
    stored = set(Event.objects.values_list("external_id", flat=True))
    assert Event.objects.count() == 200 and len(stored) == 200
    assert {s.split(":", 1)[0] for s in stored} >= {"purchase", "page_view"}
    fresh = dummy_data_start(workspace=workspace, source_type="gtm", count=200, seed=5)
    job_run(job_id=fresh.id)
    assert Event.objects.count() == 200  # the same seed again adds nothing
    assert len(expected) == 200


def test_the_api_queues_a_job_and_validates_the_count(jwt_api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = jwt_api_client.post(
            "/api/data-sources/dummy-data/bulk/shopify", {"count": 120, "seed": 3}, format="json"
        )
    assert response.status_code == 202
    job = jwt_api_client.get(f"/api/jobs/{response.json()['job']['id']}").json()
    assert job["status"] == "succeeded" and job["eventsCount"] == 120
    assert (
        jwt_api_client.post("/api/data-sources/dummy-data/bulk/shopify", {"count": 0}, format="json").status_code == 400
    )
    too_many = jwt_api_client.post("/api/data-sources/dummy-data/bulk/gtm", {"count": 5_000_001}, format="json")
    assert too_many.status_code == 400 and "count" in too_many.json()["errors"]
    assert jwt_api_client.post("/api/data-sources/dummy-data/bulk/csv", {}, format="json").status_code == 400


def test_the_management_command_generates_for_a_workspace(workspace):
    out = StringIO()
    call_command(
        "generate_dummy_data", workspace=workspace.id, source_type="facebook_pixel", count=90, seed=1, stdout=out
    )
    assert Event.objects.filter(source__name="Dummy facebook_pixel Data").count() == 90
    assert "90" in out.getvalue()


def test_seed_demo_fills_the_demo_workspace_once():
    call_command("seed_demo", stdout=StringIO())
    stored = Event.objects.count()
    assert stored > 0
    assert set(DataSource.objects.values_list("source_type", flat=True)) == {"gtm", "facebook_pixel", "shopify"}
    call_command("seed_demo", stdout=StringIO())
    assert Event.objects.count() == stored


def test_dummy_events_and_customers_are_never_dated_after_the_run(workspace):
    from django.db.models import Max
    from django.utils import timezone

    ran_at = timezone.now()
    generate(workspace, "shopify", count=1500)
    assert Event.objects.count() > 0
    assert Event.objects.aggregate(latest=Max("occurred_at"))["latest"] <= ran_at
    assert Customer.objects.aggregate(latest=Max("last_seen_at"))["latest"] <= ran_at
