from decimal import Decimal

from django.db import models

from marketing_ai.fields import EncryptedTextField
from marketing_ai.models import TimeStampedModel

from .catalog import LABELS
from .files.models import FilePassage, FileUpload  # noqa: F401 (the app's models include the files')


class ProviderKey(TimeStampedModel):
    """A key for an AI or external provider, encrypted at rest, never returned.

    A workspace key (`user` empty) serves everyone in the workspace; a personal key (`user` set) serves only that
    member's own chats, before the workspace's. A key the provider refuses is switched off (`is_active`) with
    the time and reason (`invalid_at`, `invalid_reason`) until someone saves a working one.
    """

    class Scope(models.TextChoices):
        WORKSPACE = "workspace", "Workspace"
        PERSONAL = "personal", "Personal"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="provider_keys")
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.CASCADE, related_name="personal_provider_keys"
    )
    provider = models.CharField(max_length=32)
    secret = EncryptedTextField()
    last_four = models.CharField(max_length=4, blank=True)
    base_url = models.URLField(blank=True)
    model = models.CharField(max_length=100, blank=True)
    model_ids = models.JSONField(default=list, blank=True, help_text="Model ids the key reached when it was checked.")
    is_active = models.BooleanField(default=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    invalid_at = models.DateTimeField(null=True, blank=True)
    invalid_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="provider_keys_created"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "provider"],
                condition=models.Q(user__isnull=True),
                name="ai_providerkey_workspace_unique",
            ),
            models.UniqueConstraint(
                fields=["workspace", "user", "provider"],
                condition=models.Q(user__isnull=False),
                name="ai_providerkey_personal_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} key ****{self.last_four}"

    @property
    def masked(self) -> str:
        return f"****{self.last_four}" if self.last_four else "****"

    @property
    def label(self) -> str:
        return LABELS.get(self.provider, self.provider)

    @property
    def scope(self) -> str:
        return self.Scope.PERSONAL if self.user_id else self.Scope.WORKSPACE


class ProviderCall(models.Model):
    """One call to an AI or external API: the usage log behind cost tracking (DESIGN §7).

    `user` is the member the call served (None: anonymous chat, scheduled work); `feature` the product feature
    it belongs to, for usage per feature (`purpose` is the finer step: intent, image, ...).
    """

    class Feature(models.TextChoices):
        CHAT = "chat", "Chat"
        CONTENT = "content", "Content"
        FILE_ANALYSIS = "file_analysis", "File analysis"
        RECOMMENDATIONS = "recommendations", "Recommendations"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OK = "ok", "OK"
        ERROR = "error", "Error"
        TIMEOUT = "timeout", "Timeout"
        RATE_LIMITED = "rate_limited", "Rate limited"
        CANCELLED = "cancelled", "Cancelled"

    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="provider_calls"
    )
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="provider_calls"
    )
    feature = models.CharField(max_length=32, choices=Feature.choices, default=Feature.OTHER)
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


# Trained models and predictions live in their own package; importing them here registers them with the app.
from .predictions.models import CustomerPrediction, PredictionModel  # noqa: E402, F401
