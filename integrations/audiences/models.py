"""Saved audiences: named, rule-defined sets of a workspace's customers, refreshed into a member table."""

from django.db import models

from marketing_ai.models import TimeStampedModel


class Audience(TimeStampedModel):
    """A saved audience: its rules (JSON, `integrations.audiences.rules`) and the outcome of its last refresh.

    The members of the last refresh are `AudienceMember` rows; each refresh also adds an `AudienceSizePoint`.
    """

    class RefreshStatus(models.TextChoices):
        NEVER = "never", "Never refreshed"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Refreshing"
        SUCCEEDED = "succeeded", "Up to date"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="audiences")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    rules = models.JSONField(help_text='{"match": "all"|"any", "conditions": [...]} (see the README).')
    size = models.PositiveIntegerField(default=0, help_text="Members at the last refresh.")
    refresh_status = models.CharField(max_length=16, choices=RefreshStatus.choices, default=RefreshStatus.NEVER)
    refresh_error = models.CharField(max_length=500, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="audiences_created"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="integ_audience_name_unique")]
        indexes = [models.Index(fields=["workspace", "refreshed_at"], name="integ_audience_refresh_idx")]

    def __str__(self) -> str:
        return self.name


class AudienceMember(models.Model):
    """A customer in an audience at its last refresh (replaced as a whole by each refresh)."""

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="members", db_index=False)
    customer = models.ForeignKey("integrations.Customer", on_delete=models.CASCADE, related_name="audience_members")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["audience", "customer"], name="integ_audience_member_unique")]

    def __str__(self) -> str:
        return f"{self.audience_id}: {self.customer_id}"


class AudienceSizePoint(models.Model):
    """The audience's size after one refresh: its size history."""

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="size_points", db_index=False)
    measured_at = models.DateTimeField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["measured_at", "id"]
        indexes = [models.Index(fields=["audience", "measured_at"], name="integ_audience_size_idx")]

    def __str__(self) -> str:
        return f"{self.audience_id} {self.measured_at:%Y-%m-%d %H:%M}: {self.size}"
