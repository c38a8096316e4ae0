"""PostgreSQL only: an index on the event's UTC day for the analysis totals (integrations/analysis/selectors.py).

Keyed like the totals query groups, (workspace, day, type, source, currency), and covering occurred_at and value,
so the query reads one range of it in order and aggregates without hashing, without computing the day per row
and without touching the table. The day is the UTC day (settings.TIME_ZONE); under another time zone the
analysis stays correct but does not use this index. Not declared on the model: Django's functional indexes
would also be created on SQLite, where nothing needs them.
"""

from django.db import migrations

INDEX = "integ_event_ws_day_idx"


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON integrations_event "
            "(workspace_id, ((occurred_at AT TIME ZONE 'UTC')::date), event_type, source_id, currency) "
            "INCLUDE (occurred_at, value)"
        )


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("integrations", "0004_event_customer_index_covering")]

    operations = [migrations.RunPython(index_create, index_drop)]
