"""An index of the customer-day rollups in customer order carrying the fields the overview's per-customer
aggregate reads (`integrations.analysis.queries.customer_flags`): a custom range then groups the index's entries
as they come (an index-only scan) instead of hashing the table's wider rows. INCLUDE exists on PostgreSQL only.

On PostgreSQL it is built concurrently, so stores keep writing meanwhile; hence no transaction around it.
"""

from django.db import migrations, models

INDEX = models.Index(
    fields=["workspace", "customer", "day"],
    include=["events", "type_mask", "purchases", "purchase_cents"],
    name="integ_customer_day_cover",
)


def _columns(model, names: list[str]) -> str:
    return ", ".join(model._meta.get_field(name).column for name in names)


def index_create(apps, schema_editor):
    model = apps.get_model("integrations", "CustomerDayRollup")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(model, INDEX)
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX.name} ON {model._meta.db_table} "
        f"({_columns(model, INDEX.fields)}) INCLUDE ({_columns(model, INDEX.include)})"
    )


def index_drop(apps, schema_editor):
    model = apps.get_model("integrations", "CustomerDayRollup")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(model, INDEX)
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX.name}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("integrations", "0015_window_fillfactor")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="customerdayrollup", index=INDEX)],
            database_operations=[migrations.RunPython(index_create, index_drop)],
        )
    ]
