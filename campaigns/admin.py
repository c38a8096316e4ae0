from django.contrib import admin

from .models import (
    ActivityLog,
    ApprovalDecision,
    ApprovalStep,
    ApprovalWorkflow,
    BrandAsset,
    BrandProfile,
    Campaign,
    CampaignRecommendation,
    ComplianceCheck,
    ContentJob,
    ContentVariant,
    PerformanceMetric,
)


@admin.register(CampaignRecommendation)
class CampaignRecommendationAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "segment", "provider", "created_at"]
    list_filter = ["segment", "provider"]
    search_fields = ["name", "objective"]
    raw_id_fields = ["workspace", "created_by", "conversation"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "status", "segment", "budget", "starts_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "objective"]
    raw_id_fields = ["workspace", "recommendation", "created_by"]
    readonly_fields = ["status", "submitted_at", "decided_at"]  # status moves only through the services


@admin.register(BrandProfile)
class BrandProfileAdmin(admin.ModelAdmin):
    list_display = ["workspace", "updated_at"]
    raw_id_fields = ["workspace"]


@admin.register(BrandAsset)
class BrandAssetAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "kind", "image_format", "width", "height", "size_bytes"]
    list_filter = ["kind", "image_format"]
    raw_id_fields = ["workspace", "uploaded_by"]


@admin.register(ContentJob)
class ContentJobAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "status", "progress", "variants_count", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["workspace", "campaign", "requested_by"]


class ComplianceCheckInline(admin.TabularInline):
    model = ComplianceCheck
    extra = 0
    readonly_fields = ["score", "threshold", "validation_status", "breakdown", "created_at"]


@admin.register(ContentVariant)
class ContentVariantAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "platform", "compliance_score", "validation_status", "is_current"]
    list_filter = ["platform", "validation_status", "is_current"]
    raw_id_fields = ["workspace", "campaign", "job", "created_by"]
    inlines = [ComplianceCheckInline]


class ApprovalStepInline(admin.TabularInline):
    model = ApprovalStep
    extra = 0
    raw_id_fields = ["approver_user", "decided_by"]


@admin.register(ApprovalWorkflow)
class ApprovalWorkflowAdmin(admin.ModelAdmin):
    """A workflow without a campaign is the workspace's template, copied on each submit."""

    list_display = ["name", "workspace", "campaign", "status", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["workspace", "campaign", "submitted_by"]
    inlines = [ApprovalStepInline]


@admin.register(ApprovalDecision)
class ApprovalDecisionAdmin(admin.ModelAdmin):
    list_display = ["step", "decision", "actor", "automatic", "created_at"]
    list_filter = ["decision", "automatic"]
    raw_id_fields = ["step", "actor", "delegate_to"]


@admin.register(ActivityLog)
class ActivityLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "workspace", "campaign", "verb", "message"]
    list_filter = ["verb"]
    raw_id_fields = ["workspace", "campaign", "actor"]


@admin.register(PerformanceMetric)
class PerformanceMetricAdmin(admin.ModelAdmin):
    list_display = ["campaign", "variant", "date", "platform", "impressions", "clicks", "conversions", "spend"]
    list_filter = ["platform", "source"]
    raw_id_fields = ["workspace", "campaign", "variant"]
