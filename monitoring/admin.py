from django.contrib import admin

from .models import Alert, WorkspaceBudget


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts are written by the rules (monitoring.alerts); here they are read, filtered and searched."""

    list_display = ["rule", "subject", "status", "message", "created_at", "last_seen_at", "resolved_at"]
    list_filter = ["status", "rule"]
    search_fields = ["subject", "message"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Alert._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(WorkspaceBudget)
class WorkspaceBudgetAdmin(admin.ModelAdmin):
    list_display = ["workspace", "monthly_cost_limit", "updated_at"]
    search_fields = ["workspace__name"]
    autocomplete_fields = ["workspace"]
