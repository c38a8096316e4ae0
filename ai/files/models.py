"""Uploaded files and what their analysis found (DESIGN §10 "Files")."""

from django.db import models

from marketing_ai.models import TimeStampedModel


class FileUpload(TimeStampedModel):
    """One uploaded file of a workspace: where it is stored, its analysis job's state, and the stored results.

    `profile` holds what extraction measured (tables: columns, types, counts, sums, top values; documents:
    pages, words, headings); `analysis` holds `{summary, facts[], actions[]}` from the provider router.
    """

    class Kind(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel workbook"
        PDF = "pdf", "PDF"
        TEXT = "text", "Plain text"
        MARKDOWN = "markdown", "Markdown"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Analysing"
        SUCCEEDED = "succeeded", "Analysed"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="file_uploads")
    uploaded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="file_uploads"
    )
    name = models.CharField(max_length=255, help_text="The file's name as uploaded (cleaned).")
    kind = models.CharField(max_length=16, choices=Kind.choices, help_text="Detected from the content.")
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=500, help_text="Name in the 'files' storage; never served by path.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    error = models.TextField(blank=True)
    profile = models.JSONField(default=dict, blank=True)
    analysis = models.JSONField(default=dict, blank=True)
    analysis_provider = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Analysis runs started.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the running analysis.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "created_at"], name="ai_fileupload_ws_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class FilePassage(models.Model):
    """A stretch of a file's text the chat can quote: a PDF page (or part of one), a Markdown section, a run of
    lines of a text file, or a column's profile of a table. `label` says where it is ("page 2")."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="file_passages")
    upload = models.ForeignKey(FileUpload, on_delete=models.CASCADE, related_name="passages")
    position = models.PositiveIntegerField()
    page = models.PositiveIntegerField(null=True, blank=True)
    label = models.CharField(max_length=200)
    text = models.TextField()

    class Meta:
        ordering = ["upload", "position"]
        indexes = [models.Index(fields=["workspace", "upload", "position"], name="ai_filepassage_ws_idx")]

    def __str__(self) -> str:
        return f"{self.upload_id}: {self.label}"
