"""Planner statistics for the usage aggregation's grouping key (PostgreSQL 14+ only; nothing elsewhere).

The nightly upsert groups ProviderCall by (created_at AT TIME ZONE 'UTC')::date. Without statistics on that
expression PostgreSQL guesses hundreds of thousands of groups and refuses a parallel partial aggregate; with
them it knows there are ~30 days and aggregates in parallel (about 2.5x faster on 1M rows, bench/usage.py).
The object belongs to campaigns (the usage aggregation); it carries no data and is dropped on reverse.
"""

from django.db import migrations

NAME = "campaigns_providercall_utc_day_stats"


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql" and connection.pg_version >= 140000:
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {NAME} ON ((created_at AT TIME ZONE 'UTC')::date) FROM chat_providercall"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_approvalworkflow_approvalstep_brandasset_and_more"),
        ("chat", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
