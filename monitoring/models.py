"""Operations data (DESIGN §10): one row per metric and minute for the monitoring page, alerts, and the AI cost
budget a workspace may be held to."""

from django.db import models
from django.db.models import Q

from marketing_ai.models import TimeStampedModel


class MetricSample(models.Model):
    """The value of one metric over one minute (`minute` is its start, UTC), written by the sampling beat task."""

    minute = models.DateTimeField()
    name = models.CharField(max_length=48)
    value = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "minute"], name="monitoring_sample_name_minute_unique")]
        indexes = [models.Index(fields=["minute"], name="monitoring_sample_minute_idx")]

    def __str__(self) -> str:
        return f"{self.name}@{self.minute:%Y-%m-%d %H:%M}={self.value:g}"


class Alert(TimeStampedModel):
    """A rule that fired for one subject ("site", "provider:openai", "source:12", "workspace:3"). At most one open
    alert per rule and subject: while the condition holds it stays open (`last_seen_at` moves); once it clears
    it is resolved, and a later breach opens a new one."""

    class Rule(models.TextChoices):
        ERROR_RATE = "error_rate", "Error-rate spike"
        PROVIDER_FAILURES = "provider_failures", "AI provider failures"
        COST_BUDGET = "cost_budget", "AI cost over budget"
        FAILED_LOGINS = "failed_logins", "Failed-login spike"
        INGEST_STOPPED = "ingest_stopped", "Ingest stopped"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    rule = models.CharField(max_length=32, choices=Rule.choices)
    subject = models.CharField(max_length=64)
    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    message = models.CharField(max_length=500)
    value = models.FloatField(default=0)
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"], condition=Q(status="open"), name="monitoring_alert_one_open_per_subject"
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="monitoring_alert_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} ({self.subject}, {self.status})"


class WorkspaceBudget(TimeStampedModel):
    """The AI cost a workspace may spend in a calendar month (UTC) before the cost alert fires."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="ai_budget")
    monthly_cost_limit = models.DecimalField(max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.workspace} budget {self.monthly_cost_limit}"
