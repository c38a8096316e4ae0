from django.contrib import admin, messages

from marketing_ai.errors import ApplicationError

from .files import admin as files_admin  # noqa: F401 (registers the file pages)
from .models import ProviderCall, ProviderKey, UsageDailySummary
from .predictions.models import CustomerPrediction, PredictionModel
from .predictions.services import prediction_model_activate


@admin.register(ProviderKey)
class ProviderKeyAdmin(admin.ModelAdmin):
    """The secret is never displayed: only its last four characters."""

    list_display = ["workspace", "user", "provider", "masked", "model", "is_active", "invalid_reason", "validated_at"]
    list_filter = ["provider", "is_active"]
    search_fields = ["workspace__name", "provider", "user__email"]
    list_select_related = ["workspace", "user"]
    fields = [
        "workspace",
        "user",
        "provider",
        "masked",
        "base_url",
        "model",
        "is_active",
        "validated_at",
        "invalid_at",
        "invalid_reason",
        "created_by",
    ]
    readonly_fields = ["workspace", "user", "provider", "masked", "validated_at", "invalid_at", "created_by"]

    def has_add_permission(self, request):
        return False  # keys are added (and validated) from the AI settings page

    @admin.display(description="Key")
    def masked(self, key):
        return key.masked


@admin.register(ProviderCall)
class ProviderCallAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "workspace",
        "user",
        "feature",
        "provider",
        "model",
        "purpose",
        "status",
        "tokens_in",
        "tokens_out",
        "cost",
    )
    list_filter = ("provider", "status", "feature", "purpose")
    raw_id_fields = ("workspace", "user")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UsageDailySummary)
class UsageDailySummaryAdmin(admin.ModelAdmin):
    list_display = ["day", "workspace", "provider", "requests", "successes", "cost", "avg_latency_ms"]
    list_filter = ["provider"]
    raw_id_fields = ["workspace"]


@admin.register(PredictionModel)
class PredictionModelAdmin(admin.ModelAdmin):
    """Versions of each workspace's prediction model; activating one rolls back (or forward) and rescores."""

    list_display = ["workspace", "version", "status", "is_active", "algorithm", "auc", "scored_customers", "created_at"]
    list_filter = ["status", "is_active"]
    search_fields = ["workspace__name"]
    list_select_related = ["workspace"]
    exclude = ["artifact"]
    readonly_fields = [
        "workspace",
        "kind",
        "version",
        "status",
        "is_active",
        "progress",
        "message",
        "algorithm",
        "split",
        "metrics",
        "scored_customers",
        "training_seconds",
        "started_at",
        "finished_at",
        "activated_at",
        "created_by",
    ]
    actions = ["activate"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact")

    def has_add_permission(self, request):
        return False

    @admin.display(description="Held-out AUC")
    def auc(self, model):
        return (model.metrics.get("purchase30d") or {}).get("auc")

    @admin.action(description="Make the selected version active (and rescore its customers)")
    def activate(self, request, queryset):
        for model in queryset:
            try:
                prediction_model_activate(model=PredictionModel.objects.get(id=model.id), user=None)
            except ApplicationError as error:
                self.message_user(request, f"v{model.version}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"v{model.version} of {model.workspace} is active.", messages.SUCCESS)


@admin.register(CustomerPrediction)
class CustomerPredictionAdmin(admin.ModelAdmin):
    list_display = ["customer", "workspace", "purchase_30d", "churn_risk", "next_order_on", "value_90d", "confidence"]
    list_filter = ["confidence"]
    list_select_related = ["customer", "workspace"]
    raw_id_fields = ["customer", "workspace", "model"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
