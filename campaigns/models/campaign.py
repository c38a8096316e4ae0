from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from marketing_ai.models import TimeStampedModel


class Platform(models.TextChoices):
    INSTAGRAM = "instagram", "Instagram"
    FACEBOOK = "facebook", "Facebook"
    LINKEDIN = "linkedin", "LinkedIn"
    X = "x", "X"
    EMAIL = "email", "E-mail"


class Campaign(TimeStampedModel):
    """A campaign of one workspace; its status changes only through `campaigns.services` transitions."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        SCHEDULED = "scheduled", "Scheduled"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="campaigns")
    recommendation = models.ForeignKey(
        "campaigns.CampaignRecommendation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
    )
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns_created"
    )
    name = models.CharField(max_length=200)
    objective = models.CharField(max_length=500)
    segment = models.CharField(max_length=64, blank=True, help_text="The audience segment.")
    audience = models.ForeignKey(
        "integrations.Audience",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
        help_text="The saved audience the campaign targets.",
    )
    audience_snapshot = models.JSONField(
        default=dict, blank=True, help_text="The audience's name, rules and size when the campaign went live."
    )
    channels = models.JSONField(default=list, blank=True)
    budget = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    rationale = models.TextField(blank=True)
    key_message = models.TextField(blank=True)
    offer = models.CharField(max_length=500, blank=True)
    kpi_targets = models.JSONField(default=dict, blank=True)
    platform_campaign_id = models.CharField(
        max_length=64, blank=True, help_text="The ad platform's campaign id, for insights import."
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "status"], name="campaigns_campaign_ws_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(budget__gte=0), name="campaigns_campaign_budget_gte_0"),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="campaigns_campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start."})


class BrandProfile(TimeStampedModel):
    """The workspace's brand rules that content is scored against."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="brand_profile")
    palette = models.JSONField(default=list, blank=True, help_text='Hex colours, e.g. ["#5B4BFF", "#141833"].')
    logo_requirements = models.JSONField(
        default=dict, blank=True, help_text="required, position (top-left, ...), minWidthRatio (0-1)."
    )
    typography = models.JSONField(default=dict, blank=True, help_text="fonts, minFontSize (px), noAllCaps.")
    layout = models.JSONField(default=dict, blank=True, help_text="requireCta, ctaPhrases, maxHashtags.")
    tone_of_voice = models.TextField(blank=True)
    banned_words = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Brand of {self.workspace}"


class BrandAsset(TimeStampedModel):
    class Kind(models.TextChoices):
        LOGO = "logo", "Logo"
        IMAGE = "image", "Image"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="brand_assets")
    uploaded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="brand_assets"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.IMAGE)
    name = models.CharField(max_length=200)
    file = models.FileField(upload_to="brand-assets/%Y/%m/")
    image_format = models.CharField(max_length=8, help_text="PNG, JPEG or WEBP, read from the file itself.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    dominant_colors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class ContentJob(TimeStampedModel):
    """One content-generation request for a campaign, run by a Celery task."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="content_jobs")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="content_jobs")
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="content_jobs"
    )
    platforms = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    variants_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Content job {self.pk} ({self.status})"


class ContentVariant(TimeStampedModel):
    """One platform's copy and image for a campaign, with its latest compliance result."""

    class ValidationStatus(models.TextChoices):
        PASSED = "passed", "Passed"
        MANUAL_REVIEW = "manual_review", "Manual review"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="content_variants")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="variants")
    job = models.ForeignKey(
        "campaigns.ContentJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="variants"
    )
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="content_variants"
    )
    platform = models.CharField(max_length=16, choices=Platform.choices)
    headline = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    hashtags = models.JSONField(default=list, blank=True)
    cta = models.CharField(max_length=80, blank=True)
    image = models.FileField(upload_to="variants/%Y/%m/", blank=True)
    image_ratio = models.CharField(max_length=8, blank=True)
    image_width = models.PositiveIntegerField(default=0)
    image_height = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True, help_text="copy/image source, logo placement, font.")
    compliance_score = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    compliance_breakdown = models.JSONField(default=dict, blank=True)
    validation_status = models.CharField(
        max_length=16, choices=ValidationStatus.choices, default=ValidationStatus.MANUAL_REVIEW
    )
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering = ["campaign", "platform", "-created_at"]
        indexes = [models.Index(fields=["campaign", "is_current"], name="campaigns_variant_current_idx")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} variant of {self.campaign}"

    @property
    def full_text(self) -> str:
        tags = " ".join(f"#{tag}" for tag in self.hashtags)
        return " ".join(part for part in (self.body, tags) if part)


class ComplianceCheck(models.Model):
    """One scoring run of a variant: the score, the per-rule breakdown and the routing it caused."""

    variant = models.ForeignKey("campaigns.ContentVariant", on_delete=models.CASCADE, related_name="checks")
    score = models.DecimalField(max_digits=3, decimal_places=2)
    threshold = models.DecimalField(max_digits=3, decimal_places=2)
    breakdown = models.JSONField(default=dict)
    validation_status = models.CharField(max_length=16, choices=ContentVariant.ValidationStatus.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=1), name="campaigns_check_score_range")
        ]

    def __str__(self) -> str:
        return f"{self.score} for {self.variant_id}"
