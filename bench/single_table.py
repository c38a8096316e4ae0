"""The event store as it stood before partitioning, as a same-run baseline for bench/ingest.py and bench/analysis.py.

`single_table_use()` migrates the process's database back to integrations 0011 (one events table with its
unique (source_id, external_id), no `EventKey`) and points the pipeline's store statement at it: the events
inserted straight from the staging table with `ON CONFLICT (source_id, external_id) DO NOTHING`, the customer
and rollup parts unchanged. Run it in a process of its own (the ORM's models describe the partitioned store).
"""

BEFORE_PARTITIONS = "0011_saved_audiences"

SINGLE_TABLE_EVENTS = """
ins AS (
    INSERT INTO integrations_event (workspace_id, source_id, external_id, event_type, raw_name, customer_key,
        anonymous_id, session_id, occurred_at, received_at, value, currency, properties)
    SELECT %(workspace)s, %(source)s, external_id, event_type, raw_name, customer_key, anonymous_id, session_id,
        occurred_at, %(received)s, value, currency, properties::jsonb
    FROM integ_stage
    ORDER BY external_id
    ON CONFLICT (source_id, external_id) DO NOTHING
    RETURNING customer_key, event_type, occurred_at, value, currency
)"""


def single_table_use(url: str) -> None:
    """Set Django up on the database at `url`, migrated (once) to the single table, and store into it."""
    import os

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    from integrations.pipeline import store

    if ("integrations", BEFORE_PARTITIONS) not in MigrationRecorder(connection).applied_migrations():
        call_command("migrate", verbosity=0, interactive=False)  # an empty database: everything, then back
    call_command("migrate", "integrations", BEFORE_PARTITIONS, verbosity=0, interactive=False)
    _keys_and_events, separator, rest = store.PG_EVENTS_AND_CUSTOMERS.partition(", agg AS (")
    assert separator, "the store statement changed shape: update bench/single_table.py"
    single = SINGLE_TABLE_EVENTS + separator + rest
    store.PG_INSERT = store.PG_INSERT.replace(store.PG_EVENTS_AND_CUSTOMERS, single)
