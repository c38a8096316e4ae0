from django.db import models

from marketing_ai.models import TimeStampedModel


class CampaignRecommendation(TimeStampedModel):
    """A campaign proposed for one segment by the AI core, stored so a campaign can be made from it."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="recommendations")
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="recommendations"
    )
    conversation = models.ForeignKey(
        "chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="recommendations"
    )
    segment = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    objective = models.CharField(max_length=500)
    channels = models.JSONField(default=list)
    audience_size = models.PositiveIntegerField(default=0)
    key_message = models.TextField(blank=True)
    offer = models.CharField(max_length=500, blank=True)
    timing = models.CharField(max_length=500, blank=True)
    kpi_targets = models.JSONField(default=dict, blank=True)
    rationale = models.TextField(blank=True)
    evidence = models.JSONField(default=list, blank=True, help_text="The numbers (metric, range, count) it rests on.")
    provider = models.CharField(max_length=32, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="The validated recommendation as produced.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="campaigns_rec_ws_idx")]

    def __str__(self) -> str:
        return self.name
