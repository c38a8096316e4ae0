"""API shapes (camelCase on the wire via `source=`); rules stay in the services."""

from decimal import Decimal

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import StrictBooleanField, StrictCharField, StrictFloatField, StrictIntegerField

from .brand import HEX, LOGO_POSITIONS
from .models import (
    ApprovalDecision,
    ApprovalStep,
    ApprovalWorkflow,
    BrandAsset,
    BrandProfile,
    Campaign,
    ContentJob,
    ContentVariant,
)
from .models.campaign import Platform
from .models.workflow import ApproverRole


class CampaignInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    objective = serializers.CharField(max_length=500)
    segment = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    audienceId = serializers.IntegerField(source="audience_id", required=False, allow_null=True, default=None)
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Platform.choices), required=False, default=list
    )
    budget = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal("0")
    )
    startsAt = serializers.DateTimeField(source="starts_at", required=False, allow_null=True, default=None)
    endsAt = serializers.DateTimeField(source="ends_at", required=False, allow_null=True, default=None)
    platformCampaignId = serializers.CharField(
        source="platform_campaign_id", max_length=64, required=False, allow_blank=True, default=""
    )


class CampaignPatchInput(CampaignInput):
    name = serializers.CharField(max_length=200, required=False)
    objective = serializers.CharField(max_length=500, required=False)
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # PATCH: nothing has a default
            field.default = serializers.empty


class CampaignOutput(serializers.ModelSerializer):
    startsAt = serializers.DateTimeField(source="starts_at")
    endsAt = serializers.DateTimeField(source="ends_at")
    keyMessage = serializers.CharField(source="key_message")
    kpiTargets = serializers.JSONField(source="kpi_targets")
    recommendationId = serializers.IntegerField(source="recommendation_id", allow_null=True)
    platformCampaignId = serializers.CharField(source="platform_campaign_id")
    createdById = serializers.IntegerField(source="created_by_id", allow_null=True)
    submittedAt = serializers.DateTimeField(source="submitted_at", allow_null=True)
    decidedAt = serializers.DateTimeField(source="decided_at", allow_null=True)
    audienceId = serializers.IntegerField(source="audience_id", allow_null=True)
    audienceSnapshot = serializers.JSONField(source="audience_snapshot")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "objective",
            "segment",
            "audienceId",
            "audienceSnapshot",
            "channels",
            "budget",
            "startsAt",
            "endsAt",
            "status",
            "rationale",
            "keyMessage",
            "offer",
            "kpiTargets",
            "recommendationId",
            "platformCampaignId",
            "createdById",
            "submittedAt",
            "decidedAt",
            "createdAt",
            "updatedAt",
        ]


class DecisionOutput(serializers.ModelSerializer):
    actorId = serializers.IntegerField(source="actor_id")
    delegateToId = serializers.IntegerField(source="delegate_to_id")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ApprovalDecision
        fields = ["id", "decision", "comment", "actorId", "delegateToId", "automatic", "createdAt"]


class StepOutput(serializers.ModelSerializer):
    approverRole = serializers.CharField(source="approver_role")
    approverUserId = serializers.IntegerField(source="approver_user_id")
    minComplianceScore = serializers.DecimalField(source="min_compliance_score", max_digits=3, decimal_places=2)
    autoApproveMinScore = serializers.DecimalField(source="auto_approve_min_score", max_digits=3, decimal_places=2)
    escalateAfterHours = serializers.IntegerField(source="escalate_after_hours")
    escalateToRole = serializers.CharField(source="escalate_to_role")
    activatedAt = serializers.DateTimeField(source="activated_at", allow_null=True)
    escalatedAt = serializers.DateTimeField(source="escalated_at", allow_null=True)
    decidedAt = serializers.DateTimeField(source="decided_at", allow_null=True)
    decidedById = serializers.IntegerField(source="decided_by_id", allow_null=True)
    decisions = DecisionOutput(many=True)

    class Meta:
        model = ApprovalStep
        fields = [
            "id",
            "order",
            "name",
            "status",
            "approverRole",
            "approverUserId",
            "minComplianceScore",
            "autoApproveMinScore",
            "escalateAfterHours",
            "escalateToRole",
            "activatedAt",
            "escalatedAt",
            "decidedAt",
            "decidedById",
            "decisions",
        ]


class WorkflowOutput(serializers.ModelSerializer):
    submittedById = serializers.IntegerField(source="submitted_by_id")
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at")
    steps = StepOutput(many=True)

    class Meta:
        model = ApprovalWorkflow
        fields = ["id", "name", "status", "submittedById", "createdAt", "finishedAt", "steps"]


class StepInput(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    approverRole = serializers.ChoiceField(
        source="approver_role", choices=ApproverRole.choices, required=False, allow_blank=True, default=""
    )
    approverUserId = serializers.IntegerField(source="approver_user_id", required=False, allow_null=True, default=None)
    minComplianceScore = serializers.DecimalField(
        source="min_compliance_score",
        max_digits=3,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        required=False,
        default=Decimal("0"),
    )
    autoApproveMinScore = serializers.DecimalField(
        source="auto_approve_min_score",
        max_digits=3,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        required=False,
        allow_null=True,
        default=None,
    )
    escalateAfterHours = serializers.IntegerField(
        source="escalate_after_hours", min_value=1, max_value=24 * 30, required=False, allow_null=True, default=None
    )
    escalateToRole = serializers.ChoiceField(
        source="escalate_to_role", choices=ApproverRole.choices, required=False, default=ApproverRole.OWNER
    )


class SubmitInput(serializers.Serializer):
    steps = StepInput(many=True, required=False)


class DecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ApprovalDecision.Decision.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    delegateTo = serializers.IntegerField(source="delegate_to", required=False, allow_null=True, default=None)


class VariantOutput(serializers.ModelSerializer):
    imageUrl = serializers.SerializerMethodField()
    imageRatio = serializers.CharField(source="image_ratio")
    imageWidth = serializers.IntegerField(source="image_width")
    imageHeight = serializers.IntegerField(source="image_height")
    complianceScore = serializers.DecimalField(source="compliance_score", max_digits=3, decimal_places=2)
    complianceBreakdown = serializers.JSONField(source="compliance_breakdown")
    validationStatus = serializers.CharField(source="validation_status")
    isCurrent = serializers.BooleanField(source="is_current")
    jobId = serializers.IntegerField(source="job_id")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ContentVariant
        fields = [
            "id",
            "platform",
            "headline",
            "body",
            "hashtags",
            "cta",
            "imageUrl",
            "imageRatio",
            "imageWidth",
            "imageHeight",
            "metadata",
            "complianceScore",
            "complianceBreakdown",
            "validationStatus",
            "isCurrent",
            "jobId",
            "createdAt",
        ]

    def get_imageUrl(self, variant) -> str:  # noqa: N802 (camelCase field)
        if not variant.image:
            return ""
        return reverse("campaigns:variant-image", args=[variant.campaign_id, variant.pk])


class ContentInput(serializers.Serializer):
    platforms = serializers.ListField(
        child=serializers.ChoiceField(choices=Platform.choices), min_length=1, max_length=5
    )


class ContentJobOutput(serializers.ModelSerializer):
    campaignId = serializers.IntegerField(source="campaign_id")
    variantsCount = serializers.IntegerField(source="variants_count")
    startedAt = serializers.DateTimeField(source="started_at")
    finishedAt = serializers.DateTimeField(source="finished_at")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ContentJob
        fields = [
            "id",
            "campaignId",
            "platforms",
            "status",
            "progress",
            "variantsCount",
            "error",
            "startedAt",
            "finishedAt",
            "createdAt",
        ]


@extend_schema_field({"type": "string", "pattern": HEX.pattern, "maxLength": 9})
class HexColourField(StrictCharField):
    """A colour like #5B4BFF; campaigns.brand checks it and names the bad one."""


class LogoRules(serializers.Serializer):
    required = StrictBooleanField(required=False, default=False)
    position = serializers.ChoiceField(choices=LOGO_POSITIONS, required=False, allow_blank=True)
    minWidthRatio = StrictFloatField(required=False, min_value=0, max_value=1)


class TypographyRules(serializers.Serializer):
    fonts = serializers.ListField(child=StrictCharField(max_length=80), required=False, max_length=10)
    minFontSize = StrictIntegerField(required=False, min_value=0, max_value=200)
    noAllCaps = StrictBooleanField(required=False)


class LayoutRules(serializers.Serializer):
    requireCta = StrictBooleanField(required=False)
    ctaPhrases = serializers.ListField(child=StrictCharField(max_length=60), required=False, max_length=30)
    maxHashtags = StrictIntegerField(required=False, min_value=0, max_value=30)


class BrandProfileInput(serializers.Serializer):
    palette = serializers.ListField(child=HexColourField(max_length=9), required=False, max_length=12)
    logoRequirements = LogoRules(source="logo_requirements", required=False)
    typography = TypographyRules(required=False)
    layout = LayoutRules(required=False)
    toneOfVoice = StrictCharField(source="tone_of_voice", required=False, allow_blank=True, max_length=2000)
    bannedWords = serializers.ListField(
        source="banned_words", child=StrictCharField(max_length=60), required=False, max_length=200
    )


class BrandProfileOutput(serializers.ModelSerializer):
    logoRequirements = serializers.JSONField(source="logo_requirements")
    toneOfVoice = serializers.CharField(source="tone_of_voice")
    bannedWords = serializers.JSONField(source="banned_words")
    updatedAt = serializers.DateTimeField(source="updated_at", allow_null=True)

    class Meta:
        model = BrandProfile
        fields = ["palette", "logoRequirements", "typography", "layout", "toneOfVoice", "bannedWords", "updatedAt"]


class BrandAssetInput(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=BrandAsset.Kind.choices, required=False, default=BrandAsset.Kind.IMAGE)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class BrandAssetOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    format = serializers.CharField(source="image_format")
    sizeBytes = serializers.IntegerField(source="size_bytes")
    dominantColors = serializers.JSONField(source="dominant_colors")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = BrandAsset
        fields = ["id", "kind", "name", "url", "format", "width", "height", "sizeBytes", "dominantColors", "createdAt"]

    def get_url(self, asset) -> str:
        return reverse("campaigns:brand-asset-file", args=[asset.pk]) if asset.file else ""


class MetricRowInput(serializers.Serializer):
    date = serializers.DateField()
    platform = serializers.ChoiceField(choices=Platform.choices)
    variantId = serializers.IntegerField(required=False, allow_null=True)
    postId = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="A published post's id: counts for its variant."
    )
    impressions = serializers.IntegerField(min_value=0, required=False, default=0)
    likes = serializers.IntegerField(min_value=0, required=False, default=0)
    shares = serializers.IntegerField(min_value=0, required=False, default=0)
    comments = serializers.IntegerField(min_value=0, required=False, default=0)
    clicks = serializers.IntegerField(min_value=0, required=False, default=0)
    conversions = serializers.IntegerField(min_value=0, required=False, default=0)
    spend = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal("0")
    )


class MetricsInput(serializers.Serializer):
    """Either `rows`, a CSV `file` (multipart), or `source: "platform"` with `since`/`until`."""

    rows = MetricRowInput(many=True, required=False)
    file = serializers.FileField(required=False)
    source = serializers.ChoiceField(choices=["rows", "csv", "platform"], required=False)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)

    def validate(self, attrs):
        if not attrs.get("rows") and not attrs.get("file") and attrs.get("source") != "platform":
            raise serializers.ValidationError("Send rows, a CSV file, or source=platform with since and until.")
        if attrs.get("source") == "platform" and not (attrs.get("since") and attrs.get("until")):
            raise serializers.ValidationError("Importing from the platform needs since and until.")
        return attrs
