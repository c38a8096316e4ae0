from decimal import Decimal

from django.db import models
from django.db.models import Q

from marketing_ai.models import TimeStampedModel

from .campaign import Platform


class PerformanceMetric(TimeStampedModel):
    """One day of results for a campaign (and optionally one variant) on one platform."""

    class Source(models.TextChoices):
        PLATFORM = "platform", "Platform insights"
        CSV = "csv", "CSV import"
        MANUAL = "manual", "Manual"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="performance_metrics")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="metrics")
    variant = models.ForeignKey(
        "campaigns.ContentVariant", null=True, blank=True, on_delete=models.CASCADE, related_name="metrics"
    )
    date = models.DateField()
    platform = models.CharField(max_length=16, choices=Platform.choices)
    impressions = models.PositiveBigIntegerField(default=0)
    likes = models.PositiveBigIntegerField(default=0)
    shares = models.PositiveBigIntegerField(default=0)
    comments = models.PositiveBigIntegerField(default=0)
    clicks = models.PositiveBigIntegerField(default=0)
    conversions = models.PositiveBigIntegerField(default=0)
    spend = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)

    class Meta:
        ordering = ["date", "platform"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "variant", "date", "platform"],
                condition=Q(variant__isnull=False),
                name="campaigns_metric_variant_day_unique",
            ),
            models.UniqueConstraint(
                fields=["campaign", "date", "platform"],
                condition=Q(variant__isnull=True),
                name="campaigns_metric_campaign_day_unique",
            ),
            models.CheckConstraint(condition=Q(spend__gte=0), name="campaigns_metric_spend_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.platform} {self.date}"
