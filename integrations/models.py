import secrets

from django.db import models

from marketing_ai.fields import EncryptedJSONField
from marketing_ai.models import TimeStampedModel


def write_key_generate() -> str:
    return "wk_" + secrets.token_urlsafe(24)


class DataSource(TimeStampedModel):
    class SourceType(models.TextChoices):
        GTM = "gtm", "Google Tag Manager"
        FACEBOOK_PIXEL = "facebook_pixel", "Meta Pixel"
        SEGMENT = "segment", "Segment / RudderStack"
        SHOPIFY = "shopify", "Shopify"
        CSV = "csv", "CSV upload"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ERROR = "error", "Error"

    # Sources that receive events with their write key (collect, the Segment API, the Conversions API).
    PUSH_TYPES = (SourceType.GTM, SourceType.FACEBOOK_PIXEL, SourceType.SEGMENT)

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="data_sources")
    source_type = models.CharField(max_length=32, choices=SourceType.choices)
    name = models.CharField(max_length=200)
    config = models.JSONField(default=dict, blank=True, help_text="Non-secret settings, camelCase keys.")
    secrets = EncryptedJSONField(default=dict, blank=True, help_text="Access tokens and webhook secrets, encrypted.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_message = models.CharField(max_length=500, blank=True)
    write_key = models.CharField(max_length=64, unique=True, default=write_key_generate)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(max_length=16, blank=True)
    sync_cursor = models.JSONField(default=dict, blank=True)
    is_dummy = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="data_sources_created"
    )
    # Counted at ingest (pipeline/runner.py `batch_recorded`, the webhook's signature check): the coverage report.
    last_event_at = models.DateTimeField(null=True, blank=True)
    duplicates_dropped = models.PositiveBigIntegerField(default=0)
    events_rejected = models.PositiveBigIntegerField(default=0)
    signature_failures = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace", "source_type"], name="integ_source_type_idx")]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    """One business event in the common schema (DESIGN §5); one row per (source, external_id), kept so by `EventKey`.

    On PostgreSQL the table is partitioned by month of `occurred_at` (integrations/partitions.py): its primary key
    there is (workspace_id, occurred_at, id), since a partitioned table's keys must hold the partition key, and
    it also serves the (workspace, occurred_at) reads that `integ_event_ws_time_idx` serves on SQLite (migration
    0012 builds the table by hand; Django's state keeps `id` as the primary key, which stays unique: one
    sequence numbers every partition). Rows are inserted only by `pipeline/store.py`, never updated.
    """

    class EventType(models.TextChoices):
        PAGE_VIEW = "page_view"
        VIEW_ITEM = "view_item"
        SEARCH = "search"
        ADD_TO_CART = "add_to_cart"
        REMOVE_FROM_CART = "remove_from_cart"
        BEGIN_CHECKOUT = "begin_checkout"
        ADD_PAYMENT_INFO = "add_payment_info"
        PURCHASE = "purchase"
        REFUND = "refund"
        SIGN_UP = "sign_up"
        LEAD = "lead"
        CUSTOM = "custom"

    # No single-column FK indexes: the composite indexes below start with workspace_id, and each extra index
    # costs every bulk insert (see bench/ingest.py). A source's events are deleted by `data_source_delete`, by
    # workspace and source (Django's cascade would delete by source_id alone: a scan of every partition).
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="events", db_index=False)
    source = models.ForeignKey(
        "integrations.DataSource", on_delete=models.DO_NOTHING, related_name="events", db_index=False
    )
    external_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    raw_name = models.CharField(max_length=100, blank=True)
    customer_key = models.CharField(max_length=255, blank=True)
    anonymous_id = models.CharField(max_length=255, blank=True)
    session_id = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "occurred_at"], name="integ_event_ws_time_idx"),
            # Covering on PostgreSQL (INCLUDE is ignored elsewhere): the analysis groups events per customer with an
            # index-only scan in customer order, without touching the table (see integrations/analysis/queries.py).
            models.Index(
                fields=["workspace", "customer_key", "event_type"],
                name="integ_event_ws_cust_type_idx",
                include=["occurred_at", "value"],
            ),
            models.Index(fields=["workspace", "event_type", "occurred_at"], name="integ_event_ws_type_idx"),
            # Only anonymous events: identity stitching finds a visitor's earlier history when they identify.
            models.Index(
                fields=["workspace", "anonymous_id"],
                name="integ_event_anonymous_idx",
                condition=models.Q(customer_key="") & ~models.Q(anonymous_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.external_id}"


class EventKey(models.Model):
    """The de-duplication key of every stored event: (source, external_id) unique across all time.

    A unique constraint on the month-partitioned events table would have to include `occurred_at`, and the
    same event may come back with another time (a GA4 purchase resent without `timestamp_micros` takes its
    receipt time; a Shopify order re-synced a month later): such a key would store it twice. This table is
    not partitioned, so its key is exact whatever the time; the store inserts here first and stores only the
    events whose key was new (pipeline/store.py). `occurred_at` is the stored row's time, which finds its
    partition. The key leads with the workspace so the table can be distributed by workspace (DESIGN §9).
    No database foreign keys: every insert would check two more; rows go with their workspace's and source's
    deletion (Django's cascade from the workspace, `data_source_delete`) and with their events at retention.
    """

    pk = models.CompositePrimaryKey("workspace", "source", "external_id")
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    source = models.ForeignKey(
        "integrations.DataSource", on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    external_id = models.CharField(max_length=255)
    occurred_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.source_id}: {self.external_id}"


class Customer(models.Model):
    """A workspace's profile per customer key, kept current by the pipeline."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="customers", db_index=False
    )  # covered by the (workspace, customer_key) unique index
    customer_key = models.CharField(max_length=255)
    email = models.EmailField(blank=True)
    email_sha256 = models.CharField(max_length=64, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    event_count = models.PositiveIntegerField(default=0)
    purchase_count = models.PositiveIntegerField(default=0)
    total_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "customer_key"], name="integrations_customer_key_unique")
        ]
        indexes = [
            models.Index(fields=["workspace", "-last_seen_at"], name="integ_customer_recent_idx"),
            # Identity stitching joins the keys of one hashed e-mail.
            models.Index(
                fields=["workspace", "email_sha256"],
                name="integ_customer_email_idx",
                condition=~models.Q(email_sha256=""),
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.customer_key


class AnalysisSettings(models.Model):
    """A workspace's analysis settings: the time zone of its analysis days, which its rollups are bucketed in.

    A workspace without a row reports in UTC. Change the zone only through `analysis_time_zone_set`, which
    rebuilds the rollups in the same transaction.
    """

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="analysis_settings"
    )
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. Asia/Kolkata.")
    events_kept_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Events older than this many whole months (in the analysis time zone) are removed; empty keeps all.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "analysis settings"

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.time_zone}"


class EventRollup(models.Model):
    """Events of one workspace, source, analysis day, event type and currency: the overview's totals.

    Maintained by the pipeline in the transaction that stores the events (integrations/pipeline/rollups.py);
    `day` is the day in the workspace's analysis time zone (`AnalysisSettings`). Money is in cents: sums stay
    exact on every backend. Distinct customers of a (source, day, type) are the `CustomerDayRollup` rows of that
    source and day with the type's bit, counted exactly (`customers_per_day`), not a counter here.
    """

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="event_rollups", db_index=False
    )
    source = models.ForeignKey(
        "integrations.DataSource", on_delete=models.CASCADE, related_name="event_rollups", db_index=False
    )
    day = models.DateField()
    event_type = models.CharField(max_length=32)
    currency = models.CharField(max_length=3, blank=True)
    events = models.BigIntegerField(default=0)
    value_cents = models.BigIntegerField(default=0)
    identified_events = models.BigIntegerField(default=0, help_text="Events with a customer key.")
    identified_value_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "source", "event_type", "currency"], name="integ_event_rollup_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.event_type}: {self.events}"


class CustomerDayRollup(models.Model):
    """One identified customer's events of one analysis day and source: segments, funnel customers, audiences.

    `type_mask` has one bit per event type (`integrations.analysis.queries.TYPE_BITS`); the counts and times
    are those the segment rules and their evidence read. Maintained like `EventRollup`.
    """

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="customer_day_rollups", db_index=False
    )
    customer = models.ForeignKey(
        "integrations.Customer", on_delete=models.CASCADE, related_name="day_rollups", db_index=False
    )
    day = models.DateField()
    source = models.ForeignKey(
        "integrations.DataSource", on_delete=models.CASCADE, related_name="customer_day_rollups", db_index=False
    )
    events = models.IntegerField(default=0)
    type_mask = models.IntegerField(default=0)
    purchases = models.IntegerField(default=0)
    purchase_cents = models.BigIntegerField(default=0)
    page_views = models.IntegerField(default=0)
    add_to_cart = models.IntegerField(default=0)
    begin_checkout = models.IntegerField(default=0)
    cart_cents = models.BigIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    last_add_to_cart_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Carrying what `customer_flags` reads, the key's index is one source's customer-ordered covering index
            # (an index-only scan filtered on the source); `integ_customer_day_cover` stays the narrower one that
            # all sources' ranges scan (PostgreSQL; SQLite has no INCLUDE).
            models.UniqueConstraint(
                fields=["workspace", "customer", "day", "source"],
                include=["events", "type_mask", "purchases", "purchase_cents"],
                name="integ_customer_day_rollup_key",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "day"], name="integ_customer_day_ws_day_idx"),
            # In customer order with what the overview's per-customer aggregate reads (`customer_flags`): a long
            # custom range groups the index's entries as they come instead of hashing the table's wider rows
            # (PostgreSQL; SQLite has no INCLUDE and keeps a plain index).
            models.Index(
                fields=["workspace", "customer", "day"],
                include=["events", "type_mask", "purchases", "purchase_cents"],
                name="integ_customer_day_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.day}: {self.events}"


class PurchaseRollup(models.Model):
    """Purchases per workspace, source, analysis day and value: the high-value count of estimated segments."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="purchase_rollups", db_index=False
    )
    source = models.ForeignKey(
        "integrations.DataSource", on_delete=models.CASCADE, related_name="purchase_rollups", db_index=False
    )
    day = models.DateField()
    value_cents = models.BigIntegerField()
    purchases = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "source", "value_cents"], name="integ_purchase_rollup_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.value_cents}: {self.purchases}"


class CustomerDaySet(models.Model):
    """The customers of one analysis day and source as compressed sets (integrations/daysets.py): per event type,
    the customers with that type that day (Roaring bitmaps), and the day's purchasing customers with their
    purchase counts and value. A cache derived from that day's `CustomerDayRollup` rows: whatever changes them
    deletes the row, and a job builds the missing ones again."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="customer_day_sets", db_index=False
    )
    source = models.ForeignKey(
        "integrations.DataSource", on_delete=models.CASCADE, related_name="customer_day_sets", db_index=False
    )
    day = models.DateField()
    type_sets = models.BinaryField()
    purchase_rows = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "day", "source"], name="integ_customer_day_set_key"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}/{self.source_id}: {self.day}"


class DefaultWindow(models.Model):
    """The state of a workspace's default-range summary (`CustomerWindow`, `WindowSignature`): the day it ends on
    and what it was computed under. The summary answers the overview of the range of DEFAULT_DAYS days ending
    on `as_of` (and its previous period) only while `as_of` is today in `time_zone` and the workspace's threshold
    is `threshold_cents`; otherwise, or without a row, the overview aggregates the day rollups and a task rebuilds
    it (integrations/window.py)."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="default_window"
    )
    as_of = models.DateField()
    time_zone = models.CharField(max_length=64)
    threshold_cents = models.BigIntegerField()
    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.as_of}"


class CustomerWindow(models.Model):
    """One identified customer's fields over the default window, per source (`scope`: the source's id): the
    current period's type mask, purchases and purchase value, and the previous period's type mask. The
    all-sources fields (scope 0) are not kept: they are the customer's source rows added up, and only their
    signatures are stored (a store writes one row per customer, not two).

    `customer_id` is a plain column, not a foreign key: when a customer is deleted (a merge, a recompute) its
    row must still be found to take it out of its signature's counts (integrations/window.py)."""

    # The key is the only index: every store rewrites its customers' rows, and an `id` would add a second one.
    pk = models.CompositePrimaryKey("workspace", "customer_id", "scope")
    # No database constraint: each row a store inserts would cost a lookup of the workspace at commit. The rows
    # are derived, written only for a workspace being stored into, and Django's cascade deletes them with it.
    workspace = models.ForeignKey(
        "accounts.Workspace",
        on_delete=models.CASCADE,
        related_name="customer_windows",
        db_index=False,
        db_constraint=False,
    )
    customer_id = models.BigIntegerField()
    scope = models.BigIntegerField(help_text="The source's id (all sources: only in signatures).")
    mask = models.IntegerField()
    previous_mask = models.IntegerField()
    purchases = models.IntegerField()
    purchase_cents = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.customer_id} ({self.scope}): {self.events}"


class WindowSignature(models.Model):
    """How many customers of the default window share the fields the overview's per-customer figures read: a
    few hundred rows per scope summarise every customer (integrations/window.py). A customer is active in the
    current period when its mask is not zero (every event type has a bit).

    `purchases` is capped at 2 and `purchase_cents` at the threshold plus one cent: the segment rules and the
    funnel only compare them with 0, 1 and the threshold."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="window_signatures", db_index=False
    )
    scope = models.BigIntegerField()
    mask = models.IntegerField()
    previous_mask = models.IntegerField()
    purchases = models.IntegerField()
    purchase_cents = models.BigIntegerField()
    customer_count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "scope", "mask", "previous_mask", "purchases", "purchase_cents"],
                name="integ_window_signature_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.mask}/{self.previous_mask}: {self.customer_count}"


class SyncJob(TimeStampedModel):
    """A unit of ingestion work (sync, dummy data, CSV import, webhook) with progress and counts."""

    class Kind(models.TextChoices):
        SYNC = "sync", "Sync"
        DUMMY_DATA = "dummy_data", "Dummy data"
        CSV_IMPORT = "csv_import", "CSV import"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Phase(models.TextChoices):
        IMPORTING = "", "Importing"
        DASHBOARD = "dashboard", "Preparing the dashboard"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="sync_jobs")
    source = models.ForeignKey(
        "integrations.DataSource", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    phase = models.CharField(
        max_length=16, choices=Phase.choices, default=Phase.IMPORTING, blank=True, help_text="What a running job does."
    )
    total = models.PositiveIntegerField(null=True, blank=True)
    events_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    warning = models.CharField(max_length=500, blank=True, help_text="Shown to the user, e.g. the 60-day limit.")
    params = models.JSONField(default=dict, blank=True)
    checkpoint = models.JSONField(default=dict, blank=True, help_text="Last committed batch, to resume from.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the running worker.")
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs started; the current run's number fences off a run presumed dead."
    )
    recoveries = models.PositiveSmallIntegerField(default=0, help_text="Times resumed after its worker died.")
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_jobs_created"
    )

    class Meta:
        indexes = [models.Index(fields=["source", "status"], name="integ_job_source_idx")]

    def __str__(self) -> str:
        return f"{self.kind} job {self.id} ({self.status})"


class WebhookDelivery(models.Model):
    """One accepted webhook delivery; its unique key makes replays and re-deliveries no-ops."""

    source = models.ForeignKey("integrations.DataSource", on_delete=models.CASCADE, related_name="webhook_deliveries")
    delivery_key = models.CharField(max_length=255)
    topic = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_key"], name="integrations_webhook_delivery_unique")
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.delivery_key}"


class AudiencePush(TimeStampedModel):
    """One upload of a segment's or a saved audience's customers to a Meta Custom Audience, run as a job."""

    class Mode(models.TextChoices):
        ADD = "add", "Add to the audience"
        REPLACE = "replace", "Replace the audience"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="audience_pushes")
    connection = models.ForeignKey(
        "integrations.DataSource",
        null=True,
        on_delete=models.SET_NULL,
        related_name="audience_pushes",
        help_text="The Meta Pixel source whose access token uploads.",
    )
    segment = models.CharField(max_length=64, blank=True, help_text="The segment pushed, when not a saved audience.")
    audience = models.ForeignKey(
        "integrations.Audience",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pushes",
        help_text="The saved audience pushed (its members at the last refresh).",
    )
    filters = models.JSONField(default=dict, blank=True, help_text="from, to, source of the segment's range.")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.ADD)
    platform_audience_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Customers with an e-mail to upload.")
    skipped = models.PositiveIntegerField(default=0, help_text="Segment members without an e-mail.")
    sent = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(default=0, help_text="num_received as Meta reported it.")
    invalid = models.PositiveIntegerField(default=0, help_text="num_invalid_entries as Meta reported it.")
    batches = models.PositiveIntegerField(default=0)
    session_id = models.BigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="audience_pushes"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "segment"], name="integ_audience_push_idx")]

    def __str__(self) -> str:
        return f"{self.segment or self.audience_id} -> {self.platform_audience_id or 'new audience'} ({self.status})"


class IdentityMerge(models.Model):
    """One join of an identity into a person (DESIGN §10): an anonymous id (client_id, fbp, cart token) seen with a
    customer key, or a second customer key of the same person (the same hashed e-mail).

    Written by the pipeline's stitching step (integrations/identity.py) or by hand; while active, events carrying
    `value` are stored under `customer_key`. Undoing keeps the row (`undone_at`) as a tombstone, so the pipeline
    never joins the same identity again on its own. Unique per (workspace, kind, value): an identity belongs to
    at most one person.
    """

    class Kind(models.TextChoices):
        ANONYMOUS = "anonymous", "Anonymous id"
        CUSTOMER = "customer", "Customer key"

    class Reason(models.TextChoices):
        IDENTIFIED = "identified", "Anonymous visitor identified"
        SAME_EMAIL = "same_email", "Same hashed e-mail"

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="identity_merges", db_index=False
    )  # covered by the unique (workspace, kind, value) index
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=255, help_text="The anonymous id or customer key joined.")
    customer_key = models.CharField(max_length=255, help_text="The person it joined (Customer.customer_key).")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    evidence = models.JSONField(default=dict, blank=True, help_text="The event or keys that justified the join.")
    profile = models.JSONField(
        default=dict, blank=True, help_text="The joined customer's e-mail and names, restored on undo."
    )
    created_at = models.DateTimeField()
    merged_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="identity_merges"
    )  # empty: the pipeline
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="identity_merges_undone"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "kind", "value"], name="integ_identity_unique")]
        indexes = [models.Index(fields=["workspace", "customer_key"], name="integ_identity_person_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.value} -> {self.customer_key}"


class StitchedEvent(models.Model):
    """An event re-attributed by `merge` (from '' for an anonymous id, from `merge.value` for a customer key):
    what undoing the merge reverts. An event moved along a chain (anonymous -> B, then B -> A) has one row each."""

    event_id = models.BigIntegerField()
    occurred_at = models.DateTimeField(help_text="The event's time: with its id, the event's key (partitions).")
    merge = models.ForeignKey("integrations.IdentityMerge", on_delete=models.CASCADE, related_name="stitched_events")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merge", "event_id"], name="integ_stitched_event_unique")]
        indexes = [models.Index(fields=["event_id"], name="integ_stitched_event_idx")]

    def __str__(self) -> str:
        return f"event {self.event_id} by merge {self.merge_id}"


class Product(models.Model):
    """A product seen in the workspace's events (items' ids), with how many customers bought and viewed it.

    Maintained with `CustomerProduct` and `ProductPair` by the recommendations refresh
    (integrations/recommendations/refresh.py), not on ingest.
    """

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="products", db_index=False
    )
    product_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    buyers = models.IntegerField(default=0, help_text="Customers who bought it.")
    viewers = models.IntegerField(default=0, help_text="Customers who viewed it or put it in their cart.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "product_id"], name="integ_product_unique")]

    def __str__(self) -> str:
        return self.name or self.product_id


class CustomerProduct(models.Model):
    """How often one customer (by key) bought and viewed one product: the recommendations' view of the events."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="customer_products", db_index=False
    )
    customer_key = models.CharField(max_length=255)
    product_id = models.CharField(max_length=255)
    purchases = models.IntegerField(default=0)
    views = models.IntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "customer_key", "product_id"], name="integ_customer_product_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_key} {self.product_id}"


class ProductPair(models.Model):
    """Customers who bought (or viewed) both products; stored in both directions, so one product's neighbours
    are one index range."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Bought together"
        VIEW = "view", "Viewed together"

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="product_pairs", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    product_id = models.CharField(max_length=255)
    other_id = models.CharField(max_length=255)
    customers = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "product_id", "other_id"], name="integ_product_pair_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.product_id} + {self.other_id}: {self.customers}"


class RecommendationState(models.Model):
    """A workspace's product recommendations: where the last refresh left off and what it found.

    A refresh re-reads the events of the customers changed since the previous one (new events, identity
    merges); the first, or a forced one, reads them all.
    """

    class Status(models.TextChoices):
        NEVER = "never", "Never refreshed"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="recommendation_state"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEVER)
    mode = models.CharField(max_length=16, blank=True, help_text="full or incremental, of the last refresh.")
    event_watermark = models.BigIntegerField(default=0, help_text="Highest event id read by the last refresh.")
    previous_watermark = models.BigIntegerField(
        default=0, help_text="The refresh before's: events committed late below the last one are read again."
    )
    refreshed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    customers_changed = models.PositiveIntegerField(default=0)
    buyers = models.PositiveIntegerField(default=0)
    viewers = models.PositiveIntegerField(default=0)
    products = models.PositiveIntegerField(default=0)
    pairs = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.status}"


# Saved audiences live in their own package; importing them here registers them with the app.
from .audiences.models import Audience, AudienceMember, AudienceSizePoint  # noqa: E402, F401
