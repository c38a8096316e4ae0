"""Publishing approved variants to a Facebook Page or an Instagram business account, now or on schedule.

Editors and up schedule; Celery beat (`publications_due_task`, every minute) hands due posts to a task each.
A post is claimed (scheduled -> publishing) in one UPDATE before Meta is called, so two workers never publish
it twice. Meta's 429 and 5xx are retried with backoff; anything else fails the post with Meta's reason.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.policy import policy_require
from integrations.selectors import meta_connection_for_workspace
from marketing_ai.celery import QUEUE_UNAVAILABLE, task_publish_on_commit
from marketing_ai.errors import ApplicationError, Conflict

from .adapters.meta_publish import instagram_post, page_post
from .models import Campaign, ContentVariant, Publication

logger = logging.getLogger(__name__)
PUBLISHABLE = {"facebook": "pageId", "instagram": "instagramAccountId"}
PUBLISHABLE_CAMPAIGN_STATUSES = {Campaign.Status.APPROVED, Campaign.Status.SCHEDULED, Campaign.Status.ACTIVE}
IMAGE_LINK_SALT = "campaigns.variant-image-public"
IMAGE_LINK_SECONDS = 3600


def _target(*, variant: ContentVariant) -> str:
    if variant.platform not in PUBLISHABLE:
        raise ApplicationError(f"{variant.get_platform_display()} posts cannot be published from here.")
    connection = meta_connection_for_workspace(workspace=variant.workspace)
    key = PUBLISHABLE[variant.platform]
    target = (connection.config.get(key) if connection else "") or ""
    if not target:
        place = "Facebook Page id" if variant.platform == "facebook" else "Instagram business account id"
        raise ApplicationError(f"Connect Meta first: save the {place} and an access token on a Meta Pixel source.")
    return target


def publication_schedule(*, user: User, variant: ContentVariant, at: datetime | None = None) -> Publication:
    """Publish the approved variant now (`at` empty or past) or at `at`; editors and up. One live post per variant."""
    policy_require(user=user, workspace=variant.workspace, action="campaigns.publish")
    campaign = variant.campaign
    if campaign.status not in PUBLISHABLE_CAMPAIGN_STATUSES:
        raise Conflict(f"The campaign is {campaign.get_status_display().lower()}; only approved content is published.")
    if not variant.is_current:
        raise Conflict("This variant was replaced by a newer one; publish the current variant.")
    now = timezone.now()
    if at is not None and at > now + settings.PUBLISH_MAX_AHEAD:
        raise ApplicationError("Some fields are invalid.", errors={"at": ["Schedule at most 75 days ahead."]})
    publication = Publication(
        workspace=variant.workspace,
        campaign=campaign,
        variant=variant,
        platform=variant.platform,
        target_id=_target(variant=variant),
        scheduled_for=max(at or now, now),
        created_by=user,
    )
    try:
        with transaction.atomic():
            publication.save()
    except IntegrityError:
        raise Conflict("This variant is already scheduled or published.") from None
    if publication.scheduled_for <= now:
        _enqueue(publication.id)
    return publication


def _enqueue(publication_id: int) -> None:
    from .tasks import publication_publish_task

    def unqueued():
        Publication.objects.filter(id=publication_id, status=Publication.Status.SCHEDULED).update(
            status=Publication.Status.FAILED, error=QUEUE_UNAVAILABLE, updated_at=timezone.now()
        )

    task_publish_on_commit(publication_publish_task, publication_id, on_unavailable=unqueued)


def publication_cancel(*, user: User, publication: Publication) -> Publication:
    """Cancel a post that is still scheduled; editors and up."""
    policy_require(user=user, workspace=publication.workspace, action="campaigns.publish")
    updated = Publication.objects.filter(id=publication.id, status=Publication.Status.SCHEDULED).update(
        status=Publication.Status.CANCELLED, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict("Only a scheduled post can be cancelled.")
    publication.refresh_from_db()
    return publication


def publication_retry(*, user: User, publication: Publication) -> Publication:
    """Publish a failed post again, now; editors and up."""
    policy_require(user=user, workspace=publication.workspace, action="campaigns.publish")
    if publication.status != Publication.Status.FAILED:
        raise Conflict("Only a failed post can be retried.")
    return publication_schedule(user=user, variant=publication.variant)


def publications_due(*, now: datetime | None = None) -> int:
    """Queue every scheduled post whose time has come (beat, every minute); returns how many."""
    due = Publication.objects.filter(status=Publication.Status.SCHEDULED, scheduled_for__lte=now or timezone.now())
    ids = list(due.values_list("id", flat=True)[:500])
    for publication_id in ids:
        _enqueue(publication_id)
    return len(ids)


def publication_publish(*, publication_id: int) -> Publication | None:
    """Claim a due post and publish it; records the post id, or the failure reason. None when already claimed."""
    claimed = Publication.objects.filter(
        id=publication_id, status=Publication.Status.SCHEDULED, scheduled_for__lte=timezone.now()
    ).update(status=Publication.Status.PUBLISHING, updated_at=timezone.now())
    if not claimed:
        return None
    publication = Publication.objects.select_related("variant", "workspace").get(id=publication_id)
    publication.attempts += 1
    try:
        publication.platform_post_id = _publish(publication)
    except ApplicationError as error:
        publication.status, publication.error = Publication.Status.FAILED, error.message[:500]
        logger.info("publication %s failed: %s", publication.id, error.message)
    else:
        publication.status, publication.error = Publication.Status.PUBLISHED, ""
        publication.published_at = timezone.now()
    publication.save(update_fields=["status", "error", "platform_post_id", "published_at", "attempts", "updated_at"])
    return publication


def _caption(variant: ContentVariant) -> str:
    parts = [variant.headline, variant.full_text, variant.cta]
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


def _publish(publication: Publication) -> str:
    variant = publication.variant
    connection = meta_connection_for_workspace(workspace=publication.workspace)
    if connection is None:
        raise ApplicationError("The Meta connection is gone: add the access token to a Meta Pixel source again.")
    token = connection.secrets["accessToken"]
    if publication.platform == "facebook":
        image = variant.image if variant.image else None
        return page_post(access_token=token, page_id=publication.target_id, message=_caption(variant), image=image)
    if not variant.image:
        raise ApplicationError("Instagram posts need an image; generate the variant's image first.")
    if not settings.PUBLIC_BASE_URL:
        raise ApplicationError("Instagram fetches the image from a public address: set PUBLIC_BASE_URL.")
    return instagram_post(
        access_token=token,
        account_id=publication.target_id,
        caption=_caption(variant),
        image_url=variant_image_public_url(variant=variant),
    )


def variant_image_public_url(*, variant: ContentVariant) -> str:
    """An unguessable link to the variant's image that works for an hour (Instagram downloads it once)."""
    token = signing.dumps(variant.id, salt=IMAGE_LINK_SALT)
    path = reverse("campaigns:variant-image-public", kwargs={"token": token})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def variant_from_public_token(*, token: str) -> ContentVariant | None:
    try:
        variant_id = signing.loads(token, salt=IMAGE_LINK_SALT, max_age=IMAGE_LINK_SECONDS)
    except signing.BadSignature:
        return None
    return ContentVariant.objects.filter(id=variant_id).exclude(image="").first()
