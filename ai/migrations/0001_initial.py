"""The AI platform's models move in from accounts (ProviderKey), chat (ProviderCall) and campaigns
(UsageDailySummary), keeping every row: the tables are renamed, never copied, so encrypted provider keys stay
byte-for-byte what they were (and readable with the same FIELD_ENCRYPTION_KEYS).

The old apps drop the models from their state only (accounts 0004, chat 0002, campaigns 0006). Content types
follow the models, so admin permissions and log entries keep pointing at them.
"""

from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import marketing_ai.fields

# (old app, model, old table, new table)
MOVED = [
    ("accounts", "providerkey", "accounts_providerkey", "ai_providerkey"),
    ("chat", "providercall", "chat_providercall", "ai_providercall"),
    ("campaigns", "usagedailysummary", "campaigns_usagedailysummary", "ai_usagedailysummary"),
]
# Planner statistics of the usage aggregation (campaigns 0003), PostgreSQL only.
STATISTICS = ("campaigns_providercall_utc_day_stats", "ai_providercall_utc_day_stats")


def _statistics_rename(schema_editor, old: str, new: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_statistic_ext WHERE stxname = %s", [old])
        exists = cursor.fetchone() is not None
    if exists:
        schema_editor.execute(f"ALTER STATISTICS {old} RENAME TO {new}")


def _content_types_move(apps, *, to_ai: bool) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for old_app, model, _old_table, _new_table in MOVED:
        old, new = (old_app, "ai") if to_ai else ("ai", old_app)
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)


def tables_moved_in(apps, schema_editor):
    for _app, _model, old_table, new_table in MOVED:
        schema_editor.alter_db_table(None, old_table, new_table)
    _statistics_rename(schema_editor, *STATISTICS)
    _content_types_move(apps, to_ai=True)


def tables_moved_back(apps, schema_editor):
    for _app, _model, old_table, new_table in MOVED:
        schema_editor.alter_db_table(None, new_table, old_table)
    _statistics_rename(schema_editor, *reversed(STATISTICS))
    _content_types_move(apps, to_ai=False)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0003_notification_general"),
        ("chat", "0001_initial"),
        ("campaigns", "0004_notification_moved_to_accounts"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(tables_moved_in, tables_moved_back, elidable=False),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ProviderKey",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("provider", models.CharField(max_length=32)),
                        ("secret", marketing_ai.fields.EncryptedTextField()),
                        ("last_four", models.CharField(blank=True, max_length=4)),
                        ("base_url", models.URLField(blank=True)),
                        ("model", models.CharField(blank=True, max_length=100)),
                        ("is_active", models.BooleanField(default=True)),
                        ("validated_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="provider_keys_created",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "workspace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="provider_keys",
                                to="accounts.workspace",
                            ),
                        ),
                    ],
                    options={
                        "constraints": [
                            models.UniqueConstraint(fields=("workspace", "provider"), name="accounts_providerkey_unique")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ProviderCall",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("provider", models.CharField(max_length=32)),
                        ("model", models.CharField(blank=True, max_length=100)),
                        (
                            "purpose",
                            models.CharField(
                                blank=True, help_text="chat, intent, recommendation, content, image, ...", max_length=32
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("ok", "OK"),
                                    ("error", "Error"),
                                    ("timeout", "Timeout"),
                                    ("rate_limited", "Rate limited"),
                                    ("cancelled", "Cancelled"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("tokens_in", models.PositiveIntegerField(default=0)),
                        ("tokens_out", models.PositiveIntegerField(default=0)),
                        ("cost", models.DecimalField(decimal_places=6, default=0, max_digits=12)),
                        ("latency_ms", models.PositiveIntegerField(default=0)),
                        ("error", models.CharField(blank=True, max_length=500)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "workspace",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="provider_calls",
                                to="accounts.workspace",
                            ),
                        ),
                    ],
                    options={
                        "indexes": [models.Index(fields=["workspace", "created_at"], name="chat_providercall_ws_idx")],
                    },
                ),
                migrations.CreateModel(
                    name="UsageDailySummary",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("provider", models.CharField(max_length=32)),
                        ("day", models.DateField()),
                        ("requests", models.PositiveIntegerField(default=0)),
                        ("successes", models.PositiveIntegerField(default=0)),
                        ("tokens_in", models.PositiveBigIntegerField(default=0)),
                        ("tokens_out", models.PositiveBigIntegerField(default=0)),
                        ("cost", models.DecimalField(decimal_places=6, default=Decimal("0"), max_digits=14)),
                        ("avg_latency_ms", models.FloatField(default=0)),
                        ("updated_at", models.DateTimeField()),
                        (
                            "workspace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="usage_summaries",
                                to="accounts.workspace",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["day", "provider"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("workspace", "provider", "day"), name="campaigns_usage_day_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        # The index and constraints carry their new app's prefix.
        migrations.RenameIndex(
            model_name="providercall", new_name="ai_providercall_ws_idx", old_name="chat_providercall_ws_idx"
        ),
        migrations.RemoveConstraint(model_name="providerkey", name="accounts_providerkey_unique"),
        migrations.AddConstraint(
            model_name="providerkey",
            constraint=models.UniqueConstraint(fields=("workspace", "provider"), name="ai_providerkey_unique"),
        ),
        migrations.RemoveConstraint(model_name="usagedailysummary", name="campaigns_usage_day_unique"),
        migrations.AddConstraint(
            model_name="usagedailysummary",
            constraint=models.UniqueConstraint(fields=("workspace", "provider", "day"), name="ai_usage_day_unique"),
        ),
    ]
