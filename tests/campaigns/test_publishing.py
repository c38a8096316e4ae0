"""Publishing approved variants to a local fake of the Graph API (Page feed/photos, Instagram media), on time."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from ai.models import ProviderKey
from campaigns.models import Campaign, PerformanceMetric, Publication
from campaigns.tasks import publications_due_task
from integrations.models import DataSource
from tests.conftest import api_client_for

from .factories import CampaignFactory, scored_variant

pytestmark = pytest.mark.django_db
TOKEN = "EAAB-meta-system-user-token-1234"


@pytest.fixture
def meta(workspace):
    return DataSource.objects.create(
        workspace=workspace,
        source_type="facebook_pixel",
        name="Meta",
        config={"pixelId": "123456789012345", "pageId": "1000001", "instagramAccountId": "1780001"},
        secrets={"accessToken": TOKEN},
    )


@pytest.fixture
def approved(workspace, editor):
    return CampaignFactory(workspace=workspace, created_by=editor, status=Campaign.Status.APPROVED)


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    def post(client, variant, **body):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/api/campaigns/{variant.campaign_id}/variants/{variant.pk}/publish", body, format="json"
            )

    return post


def test_an_approved_facebook_variant_is_published_now_as_a_photo_post_with_its_caption(
    graph, meta, approved, editor, publish
):
    variant = scored_variant(campaign=approved, platform="facebook", headline="Autumn boots")

    response = publish(api_client_for(editor), variant)

    assert response.status_code == 202
    publication = Publication.objects.get()
    assert (publication.status, publication.platform_post_id) == ("published", "1000001_9001")
    (token_read,) = [r for r in graph.requests if r["method"] == "GET"]
    assert token_read["params"]["access_token"] == TOKEN
    (photo,) = graph.of("/1000001/photos")
    assert photo["params"]["access_token"] == "page-token-1000001"  # the Page's own token
    assert b"Autumn boots" in photo["params"]["multipart"] and b"\x89PNG" in photo["params"]["multipart"]


def test_an_instagram_variant_goes_out_as_a_container_then_published_with_a_working_image_link(
    graph, meta, approved, editor, publish, settings, client
):
    settings.PUBLIC_BASE_URL = "https://app.example.com"
    variant = scored_variant(campaign=approved, platform="instagram")

    publish(api_client_for(editor), variant)

    (media,) = graph.of("/1780001/media")
    (published,) = graph.of("/1780001/media_publish")
    assert published["params"]["creation_id"] == "container-1"
    assert Publication.objects.get().platform_post_id == "17900002"
    link = media["params"]["image_url"]
    assert link.startswith("https://app.example.com/campaigns/media/")
    image = client.get(link.removeprefix("https://app.example.com"))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert client.get("/campaigns/media/forged-token/").status_code == 404


def test_instagram_without_a_public_address_fails_with_the_reason(graph, meta, approved, editor, publish):
    variant = scored_variant(campaign=approved, platform="instagram")

    publish(api_client_for(editor), variant)

    publication = Publication.objects.get()
    assert publication.status == "failed"
    assert "set PUBLIC_BASE_URL" in publication.error


def test_a_scheduled_post_waits_then_goes_out_on_time_through_beat(
    graph, meta, approved, editor, publish, django_capture_on_commit_callbacks
):
    variant = scored_variant(campaign=approved, platform="facebook")
    at = timezone.now() + timedelta(seconds=1)

    body = publish(api_client_for(editor), variant, at=at.isoformat()).json()

    assert body["status"] == "scheduled"
    with django_capture_on_commit_callbacks(execute=True):
        assert publications_due_task() == 0
    assert graph.of("/photos") == []
    time.sleep(max(0.0, (at - timezone.now()).total_seconds()) + 0.05)
    with django_capture_on_commit_callbacks(execute=True):
        assert publications_due_task() == 1
    publication = Publication.objects.get()
    assert publication.status == "published" and publication.published_at >= at


def test_rate_limits_and_server_errors_are_retried_and_a_lasting_failure_says_why(
    graph, meta, approved, editor, publish, django_capture_on_commit_callbacks
):
    variant = scored_variant(campaign=approved, platform="facebook")
    variant.image = ""  # a text-only post goes to the feed
    variant.save(update_fields=["image"])
    graph.script = ["429", "500"]
    publish(api_client_for(editor), variant)
    assert Publication.objects.get().status == "published"
    assert [r["method"] for r in graph.requests] == ["GET", "GET", "GET", "POST"]  # 429, 500, token, post

    Publication.objects.all().delete()
    graph.script = ["500"] * 4
    publish(api_client_for(editor), variant)
    failed = Publication.objects.get()
    assert failed.status == "failed"
    assert "Meta is unavailable (500)" in failed.error

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(editor).post(f"/api/publications/{failed.pk}/retry")
    assert response.status_code == 200
    assert Publication.objects.filter(status="published").count() == 1


def test_a_viewer_cannot_publish_and_a_campaign_still_in_review_cannot_go_out(
    graph, meta, approved, viewer, editor, publish, workspace
):
    variant = scored_variant(campaign=approved, platform="facebook")
    response = publish(api_client_for(viewer), variant)
    assert response.status_code == 403

    in_review = CampaignFactory(workspace=workspace, created_by=editor, status=Campaign.Status.IN_REVIEW)
    response = publish(api_client_for(editor), scored_variant(campaign=in_review, platform="facebook"))
    assert response.status_code == 409
    assert not Publication.objects.exists()
    assert graph.requests == []


def test_without_a_page_id_the_answer_says_what_to_connect(approved, editor, publish, workspace):
    variant = scored_variant(campaign=approved, platform="facebook")
    response = publish(api_client_for(editor), variant)
    assert response.status_code == 400
    assert "Facebook Page id" in response.json()["message"]


def test_a_variant_is_published_once_and_a_scheduled_post_can_be_cancelled(graph, meta, approved, editor, publish):
    variant = scored_variant(campaign=approved, platform="facebook")
    later = (timezone.now() + timedelta(days=1)).isoformat()
    scheduled = publish(api_client_for(editor), variant, at=later).json()

    assert publish(api_client_for(editor), variant, at=later).status_code == 409
    response = api_client_for(editor).post(f"/api/publications/{scheduled['id']}/cancel")
    assert response.json()["status"] == "cancelled"
    assert api_client_for(editor).post(f"/api/publications/{scheduled['id']}/cancel").status_code == 409


def test_a_posts_insights_and_csv_rows_with_its_post_id_count_for_its_variant(
    graph, meta, approved, editor, publish, workspace
):
    variant = scored_variant(campaign=approved, platform="facebook")
    publish(api_client_for(editor), variant)
    publication = Publication.objects.get()
    secret = "meta-insights-token"
    ProviderKey.objects.create(workspace=workspace, provider="meta", secret=secret, last_four=secret[-4:])

    response = api_client_for(editor).post(
        f"/api/publications/{publication.pk}/metrics", {"since": "2026-11-01", "until": "2026-11-02"}, format="json"
    )

    assert response.status_code == 201
    assert graph.of(f"/{publication.platform_post_id}/insights")
    metric = PerformanceMetric.objects.get()
    assert (metric.variant_id, metric.impressions, metric.likes) == (variant.pk, 1000, 25)
    row = {"date": "2026-11-03", "platform": "facebook", "postId": publication.platform_post_id, "clicks": 2}
    upload = api_client_for(editor).post(f"/api/campaigns/{approved.pk}/metrics", {"rows": [row]}, format="json")
    assert upload.status_code == 201
    assert PerformanceMetric.objects.get(date="2026-11-03").variant_id == variant.pk
    unknown = api_client_for(editor).post(
        f"/api/campaigns/{approved.pk}/metrics", {"rows": [{**row, "postId": "999_1"}]}, format="json"
    )
    assert unknown.status_code == 400


def test_the_campaign_page_offers_publishing_to_editors_only(meta, approved, editor, viewer, client):
    scored_variant(campaign=approved, platform="facebook")
    client.force_login(editor)
    assert "Schedule for" in client.get(f"/campaigns/{approved.pk}/").content.decode()
    client.force_login(viewer)
    page = client.get(f"/campaigns/{approved.pk}/").content.decode()
    assert "Publishing" in page and "Schedule for" not in page
    response = client.post(f"/campaigns/{approved.pk}/publish/", {"variant": approved.variants.get().pk})
    assert response.status_code == 403
