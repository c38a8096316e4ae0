from decimal import Decimal

from django.db import models

from marketing_ai.fields import EncryptedTextField
from marketing_ai.models import TimeStampedModel


class ProviderKey(TimeStampedModel):
    """A workspace's own key for an AI or external provider, encrypted at rest, never returned."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="provider_keys")
    provider = models.CharField(max_length=32)
    secret = EncryptedTextField()
    last_four = models.CharField(max_length=4, blank=True)
    base_url = models.URLField(blank=True)
    model = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="provider_keys_created"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "provider"], name="ai_providerkey_unique")]

    def __str__(self) -> str:
        return f"{self.provider} key ****{self.last_four}"

    @property
    def masked(self) -> str:
        return f"****{self.last_four}" if self.last_four else "****"


class ProviderCall(models.Model):
    """One call to an AI or external API: the usage log behind cost tracking (DESIGN §7)."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        ERROR = "error", "Error"
        TIMEOUT = "timeout", "Timeout"
        RATE_LIMITED = "rate_limited", "Rate limited"
        CANCELLED = "cancelled", "Cancelled"

    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="provider_calls"
    )
    provider = models.CharField(max_length=32)
    model = models.CharField(max_length=100, blank=True)
    purpose = models.CharField(max_length=32, blank=True, help_text="chat, intent, recommendation, content, image, ...")
    status = models.CharField(max_length=16, choices=Status.choices)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "created_at"], name="ai_providercall_ws_idx")]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} {self.status}"


class UsageDailySummary(models.Model):
    """ProviderCall rows aggregated per workspace, provider and UTC day (rebuilt idempotently each night)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="usage_summaries")
    provider = models.CharField(max_length=32)
    day = models.DateField()
    requests = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    avg_latency_ms = models.FloatField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["day", "provider"]
        constraints = [models.UniqueConstraint(fields=["workspace", "provider", "day"], name="ai_usage_day_unique")]

    def __str__(self) -> str:
        return f"{self.provider} {self.day}"

    @property
    def success_rate(self) -> float:
        return self.successes / self.requests if self.requests else 0.0
