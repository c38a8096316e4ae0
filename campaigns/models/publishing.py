from django.db import models
from django.db.models import Q

from marketing_ai.models import TimeStampedModel


class Publication(TimeStampedModel):
    """One approved variant going out to a Facebook Page or an Instagram business account, now or at a time.

    `platform_post_id` is the platform's id of the published post: performance rows imported for that post
    attach to the variant through it.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        PUBLISHING = "publishing", "Publishing"
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="publications")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="publications")
    variant = models.ForeignKey("campaigns.ContentVariant", on_delete=models.CASCADE, related_name="publications")
    platform = models.CharField(max_length=16, help_text="facebook or instagram")
    target_id = models.CharField(max_length=32, help_text="The Page id or the Instagram account id.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_for = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    platform_post_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="publications"
    )

    class Meta:
        ordering = ["-scheduled_for", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_for"], name="campaigns_publication_due_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["variant"],
                condition=Q(status__in=["scheduled", "publishing", "published"]),
                name="campaigns_publication_one_live_per_variant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform} post of variant {self.variant_id} ({self.status})"
