import zoneinfo

from django import forms
from django.contrib import admin, messages

from marketing_ai.errors import ApplicationError

from .audiences.services import audience_refresh
from .identity import identity_merge_undo
from .models import (
    AnalysisSettings,
    Audience,
    Customer,
    DataSource,
    Event,
    IdentityMerge,
    RecommendationState,
    SyncJob,
    WebhookDelivery,
)
from .recommendations.services import recommendations_refresh
from .retention import KEPT_MONTHS_MAX, event_retention_set
from .rollups import analysis_time_zone_set
from .services import data_source_delete, job_cancel, job_retry


@admin.register(DataSource)
class DataSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "source_type", "status", "last_sync_at", "last_sync_status", "is_dummy"]
    list_filter = ["source_type", "status", "is_dummy"]
    search_fields = ["name", "workspace__name"]
    exclude = ["secrets"]  # encrypted access tokens never appear in the admin
    readonly_fields = ["write_key", "sync_cursor", "last_sync_at", "last_sync_status", "created_at", "updated_at"]
    raw_id_fields = ["workspace", "created_by"]

    def delete_model(self, request, obj):
        data_source_delete(source=obj)  # with its events, keys and the rollups they touched

    def delete_queryset(self, request, queryset):
        for source in queryset:
            data_source_delete(source=source)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "event_type", "raw_name", "source", "customer_key", "value", "currency"]
    list_filter = ["event_type", "source__source_type", ("occurred_at", admin.DateFieldListFilter), "source"]
    search_fields = ["external_id", "customer_key"]
    date_hierarchy = "occurred_at"
    list_select_related = ["source"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "customer_key",
        "email",
        "workspace",
        "event_count",
        "purchase_count",
        "total_value",
        "last_seen_at",
    ]
    search_fields = ["customer_key", "email"]
    list_filter = ["workspace"]
    readonly_fields = ["email_sha256", "first_seen_at", "last_seen_at", "event_count", "purchase_count", "total_value"]


@admin.register(SyncJob)
class SyncJobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "source", "status", "progress", "events_count", "rejected_count", "created_at"]
    list_filter = ["kind", "status"]
    readonly_fields = ["checkpoint", "started_at", "finished_at", "events_count", "rejected_count", "progress"]
    actions = ["retry_jobs", "cancel_jobs"]

    @admin.action(
        description="Retry the selected failed or cancelled jobs (resume from their checkpoint)", permissions=["change"]
    )
    def retry_jobs(self, request, queryset):
        self._jobs_apply(request, queryset, job_retry, "queued again")

    @admin.action(
        description="Cancel the selected queued or running jobs (they keep what they stored)", permissions=["change"]
    )
    def cancel_jobs(self, request, queryset):
        self._jobs_apply(request, queryset, job_cancel, "cancelled")

    def _jobs_apply(self, request, queryset, service, done: str) -> None:
        """Run the job service on each selected job; a refused one is reported and the others still go."""
        applied = 0
        for job in queryset:
            try:
                service(job=job)
                applied += 1
            except ApplicationError as exc:
                self.message_user(request, f"Job {job.id}: {exc.message}", level=messages.WARNING)
        self.message_user(request, f"{applied} job(s) {done}.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["source", "topic", "delivery_key", "received_at"]
    list_filter = ["topic"]


class AnalysisSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=[(zone, zone) for zone in sorted(zoneinfo.available_timezones())])
    events_kept_months = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=KEPT_MONTHS_MAX,
        label="Keep events (months)",
        help_text="Whole months kept besides the current one; older events, their rollups and the customers left "
        "without events are removed daily. Empty keeps every event.",
    )

    class Meta:
        model = AnalysisSettings
        fields = ["workspace", "time_zone", "events_kept_months"]


@admin.register(AnalysisSettings)
class AnalysisSettingsAdmin(admin.ModelAdmin):
    """A workspace's analysis time zone and event retention; saving rebuilds its rollups in the zone."""

    form = AnalysisSettingsForm
    list_display = ["workspace", "time_zone", "events_kept_months", "updated_at"]
    raw_id_fields = ["workspace"]

    def save_model(self, request, obj, form, change):
        analysis_time_zone_set(workspace_id=obj.workspace_id, time_zone=obj.time_zone)
        event_retention_set(workspace_id=obj.workspace_id, months=obj.events_kept_months)


@admin.register(IdentityMerge)
class IdentityMergeAdmin(admin.ModelAdmin):
    """Identity merges, read-only; undo one with the action (rollups rebuilt, as from the customer page)."""

    list_display = ["created_at", "workspace", "kind", "value", "customer_key", "reason", "merged_by", "undone_at"]
    list_filter = ["kind", "reason", ("undone_at", admin.EmptyFieldListFilter)]
    search_fields = ["value", "customer_key"]
    raw_id_fields = ["workspace", "merged_by", "undone_by"]
    actions = ["undo_merges"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Undo the selected merges")
    def undo_merges(self, request, queryset):
        undone = 0
        for merge in queryset.filter(undone_at=None):
            try:
                identity_merge_undo(merge=merge, user=None)
            except ApplicationError:  # undone meanwhile
                continue
            undone += 1
        self.message_user(request, f"{undone} merge(s) undone; the customers' totals and rollups are rebuilt.")


@admin.register(RecommendationState)
class RecommendationStateAdmin(admin.ModelAdmin):
    list_display = ["workspace", "status", "mode", "refreshed_at", "duration_ms", "products", "pairs", "buyers"]
    list_filter = ["status", "mode"]
    readonly_fields = [f.name for f in RecommendationState._meta.fields]
    actions = ["refresh_fully"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Refresh fully now")
    def refresh_fully(self, request, queryset):
        for state in queryset:
            recommendations_refresh(workspace_id=state.workspace_id, full=True)
        self.message_user(request, f"{queryset.count()} workspace(s) refreshed.")


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    """Saved audiences; rules are edited on the audience pages (validated there), refreshed from here."""

    list_display = ["name", "workspace", "size", "refresh_status", "refreshed_at", "updated_at"]
    list_filter = ["refresh_status"]
    search_fields = ["name", "workspace__name"]
    list_select_related = ["workspace"]
    readonly_fields = ["workspace", "rules", "size", "refresh_status", "refresh_error", "refreshed_at", "created_by"]
    actions = ["refresh"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Refresh the selected audiences now")
    def refresh(self, request, queryset):
        for audience in queryset:
            audience_refresh(audience_id=audience.id)
        self.message_user(request, f"Refreshed {queryset.count()} audience(s).", messages.SUCCESS)
