"""Trained prediction models (versioned per workspace, with their held-out metrics) and per-customer predictions."""

from django.db import models
from django.db.models import Q

from marketing_ai.models import TimeStampedModel


class PredictionModel(TimeStampedModel):
    """One training run of a workspace's customer model: status, the fitted estimators (serialized), the time split
    it was evaluated on and its held-out metrics. At most one version per workspace is active (scores customers)."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", "Customer behaviour (purchase, churn, next order, 90-day value)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        REFUSED = "refused", "Not enough data"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="prediction_models")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CUSTOMER)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    is_active = models.BooleanField(default=False)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    message = models.CharField(max_length=500, blank=True, help_text="Why training refused or failed.")
    algorithm = models.CharField(max_length=64, blank=True)
    artifact = models.BinaryField(null=True, blank=True, editable=False, help_text="The fitted estimators (pickle).")
    split = models.JSONField(default=dict, blank=True, help_text="Cutoff days of the train and held-out windows.")
    metrics = models.JSONField(default=dict, blank=True, help_text="Held-out AUC, calibration, baselines, counts.")
    scored_customers = models.PositiveIntegerField(default=0)
    training_seconds = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="prediction_models"
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "kind", "version"], name="ai_prediction_model_version"),
            models.UniqueConstraint(
                fields=["workspace", "kind"], condition=Q(is_active=True), name="ai_prediction_model_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.kind} v{self.version} ({self.status})"


class CustomerPrediction(models.Model):
    """The active model's latest predictions for one customer, with how much data backs them.

    With confidence `insufficient` the values are empty: the app says it cannot predict this customer yet.
    """

    class Confidence(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"
        INSUFFICIENT = "insufficient", "Not enough data"

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="customer_predictions", db_index=False
    )
    customer = models.OneToOneField(
        "integrations.Customer", on_delete=models.CASCADE, related_name="prediction", primary_key=True
    )
    model = models.ForeignKey(PredictionModel, on_delete=models.CASCADE, related_name="predictions", db_index=False)
    purchase_30d = models.FloatField(null=True, blank=True, help_text="Chance of a purchase in the next 30 days.")
    churn_risk = models.FloatField(null=True, blank=True, help_text="Chance of no activity in the next 30 days.")
    next_order_on = models.DateField(null=True, blank=True, help_text="Expected next order day.")
    value_90d = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    confidence = models.CharField(max_length=16, choices=Confidence.choices)
    events = models.PositiveIntegerField(default=0, help_text="Events in the year behind the features.")
    scored_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "-purchase_30d"], name="ai_prediction_purchase_idx"),
            models.Index(fields=["workspace", "-churn_risk"], name="ai_prediction_churn_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.purchase_30d} ({self.confidence})"
