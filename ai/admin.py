from django.contrib import admin

from .files import admin as files_admin  # noqa: F401 (registers the file pages)
from .models import ProviderCall, ProviderKey, UsageDailySummary


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
