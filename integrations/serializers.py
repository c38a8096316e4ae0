"""camelCase API representations of the integrations models."""

from django.urls import reverse
from rest_framework import serializers

from .config import secrets_masked
from .models import AudiencePush, Customer, DataSource, Event, IdentityMerge, SyncJob

PUSH_TYPES = DataSource.PUSH_TYPES


class DataSourceOutput(serializers.ModelSerializer):
    sourceType = serializers.CharField(source="source_type")
    config = serializers.SerializerMethodField()
    statusMessage = serializers.CharField(source="status_message")
    writeKey = serializers.SerializerMethodField()
    collectUrl = serializers.SerializerMethodField()
    webhookUrl = serializers.SerializerMethodField()
    lastSyncAt = serializers.DateTimeField(source="last_sync_at", allow_null=True)
    lastSyncStatus = serializers.CharField(source="last_sync_status")
    isDummy = serializers.BooleanField(source="is_dummy")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = DataSource
        fields = [
            "id",
            "sourceType",
            "name",
            "config",
            "status",
            "statusMessage",
            "writeKey",
            "collectUrl",
            "webhookUrl",
            "lastSyncAt",
            "lastSyncStatus",
            "isDummy",
            "createdAt",
            "updatedAt",
        ]

    def get_config(self, source) -> dict:
        return {**source.config, **secrets_masked(source.secrets)}

    def get_writeKey(self, source) -> str | None:
        return source.write_key if source.source_type in PUSH_TYPES else None

    def get_collectUrl(self, source) -> str | None:
        if source.source_type not in PUSH_TYPES:
            return None
        return reverse("integrations-api:collect", kwargs={"write_key": source.write_key})

    def get_webhookUrl(self, source) -> str | None:
        if source.source_type != DataSource.SourceType.SHOPIFY:
            return None
        return reverse("integrations-api:shopify-webhook", kwargs={"source_id": source.id})


class JobOutput(serializers.ModelSerializer):
    sourceId = serializers.IntegerField(source="source_id")
    eventsCount = serializers.IntegerField(source="events_count")
    rejectedCount = serializers.IntegerField(source="rejected_count")
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at")
    finishedAt = serializers.DateTimeField(source="finished_at")

    class Meta:
        model = SyncJob
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "phase",
            "total",
            "eventsCount",
            "rejectedCount",
            "error",
            "warning",
            "sourceId",
            "createdAt",
            "startedAt",
            "finishedAt",
        ]


class EventOutput(serializers.ModelSerializer):
    sourceId = serializers.IntegerField(source="source_id")
    sourceType = serializers.CharField(source="source.source_type")
    externalId = serializers.CharField(source="external_id")
    eventType = serializers.CharField(source="event_type")
    rawName = serializers.CharField(source="raw_name")
    customerKey = serializers.CharField(source="customer_key")
    anonymousId = serializers.CharField(source="anonymous_id")
    sessionId = serializers.CharField(source="session_id")
    occurredAt = serializers.DateTimeField(source="occurred_at")
    receivedAt = serializers.DateTimeField(source="received_at")

    class Meta:
        model = Event
        fields = [
            "id",
            "sourceId",
            "sourceType",
            "externalId",
            "eventType",
            "rawName",
            "customerKey",
            "anonymousId",
            "sessionId",
            "occurredAt",
            "receivedAt",
            "value",
            "currency",
            "properties",
        ]


class CustomerOutput(serializers.ModelSerializer):
    customerKey = serializers.CharField(source="customer_key")
    emailSha256 = serializers.CharField(source="email_sha256")
    firstName = serializers.CharField(source="first_name")
    lastName = serializers.CharField(source="last_name")
    firstSeenAt = serializers.DateTimeField(source="first_seen_at")
    lastSeenAt = serializers.DateTimeField(source="last_seen_at")
    eventCount = serializers.IntegerField(source="event_count")
    purchaseCount = serializers.IntegerField(source="purchase_count")
    totalValue = serializers.DecimalField(source="total_value", max_digits=14, decimal_places=2)

    class Meta:
        model = Customer
        fields = [
            "id",
            "customerKey",
            "email",
            "emailSha256",
            "firstName",
            "lastName",
            "firstSeenAt",
            "lastSeenAt",
            "eventCount",
            "purchaseCount",
            "totalValue",
        ]


class AudiencePushOutput(serializers.ModelSerializer):
    platformAudienceId = serializers.CharField(source="platform_audience_id")
    sessionId = serializers.IntegerField(source="session_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at")
    finishedAt = serializers.DateTimeField(source="finished_at")

    class Meta:
        model = AudiencePush
        fields = [
            "id",
            "segment",
            "audience",
            "filters",
            "mode",
            "platformAudienceId",
            "status",
            "total",
            "skipped",
            "sent",
            "received",
            "invalid",
            "batches",
            "sessionId",
            "error",
            "createdAt",
            "startedAt",
            "finishedAt",
        ]


class IdentityMergeOutput(serializers.ModelSerializer):
    """One join into a person (DESIGN §10): what was joined, why, by whom (null: the pipeline), and its undo."""

    customerKey = serializers.CharField(source="customer_key")
    reasonLabel = serializers.CharField(source="get_reason_display")
    createdAt = serializers.DateTimeField(source="created_at")
    mergedBy = serializers.EmailField(source="merged_by.email", allow_null=True, default=None)
    undoneAt = serializers.DateTimeField(source="undone_at", allow_null=True)
    undoneBy = serializers.EmailField(source="undone_by.email", allow_null=True, default=None)
    events = serializers.IntegerField(
        read_only=True, allow_null=True, default=None, help_text="Events re-attributed by the join."
    )

    class Meta:
        model = IdentityMerge
        fields = [
            "id",
            "kind",
            "value",
            "customerKey",
            "reason",
            "reasonLabel",
            "evidence",
            "events",
            "createdAt",
            "mergedBy",
            "undoneAt",
            "undoneBy",
        ]
