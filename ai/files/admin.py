"""Admin pages for uploaded files: status, results and passages read-only; reanalyse and delete go through the
services (a delete also removes the stored bytes)."""

from django.contrib import admin, messages

from marketing_ai.errors import ApplicationError

from .models import FilePassage, FileUpload
from .services import file_delete, file_reanalyse


class FilePassageInline(admin.TabularInline):
    model = FilePassage
    fields = ["position", "label", "page", "text"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


@admin.register(FileUpload)
class FileUploadAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "kind", "size", "status", "progress", "analysis_provider", "created_at"]
    list_filter = ["status", "kind", "analysis_provider"]
    search_fields = ["name", "workspace__name", "sha256"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace", "uploaded_by"]
    readonly_fields = [
        "workspace",
        "uploaded_by",
        "name",
        "kind",
        "content_type",
        "size",
        "sha256",
        "storage_name",
        "status",
        "progress",
        "error",
        "profile",
        "analysis",
        "analysis_provider",
        "attempts",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "created_at",
        "updated_at",
    ]
    inlines = [FilePassageInline]
    actions = ["reanalyse"]

    def has_add_permission(self, request) -> bool:
        return False  # files arrive through the Files page or the API, where they are validated

    @admin.action(description="Analyse the selected files again")
    def reanalyse(self, request, queryset):
        queued = 0
        for upload in queryset:
            try:
                file_reanalyse(user=None, upload=upload)
                queued += 1
            except ApplicationError as exc:
                self.message_user(request, f"{upload.name}: {exc}", messages.WARNING)
        self.message_user(request, f"{queued} file(s) queued for analysis.")

    def delete_model(self, request, obj):
        file_delete(user=None, upload=obj)

    def delete_queryset(self, request, queryset):
        for upload in queryset:
            file_delete(user=None, upload=upload)
