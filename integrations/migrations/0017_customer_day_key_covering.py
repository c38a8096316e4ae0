"""The customer-day rollups' unique key (workspace, customer, day, source) carries what the overview's
per-customer aggregate reads (`integrations.analysis.queries.customer_flags`), so a custom range of one source is
grouped from an index-only scan of it in customer order instead of visiting the table.

On PostgreSQL the new unique index is built concurrently (stores keep writing), then one short statement swaps
the constraint onto it (the old constraint dropped, the new index attached under the constraint's name); hence no
transaction around the build.
"""

from django.db import migrations, models

FIELDS = ["workspace", "customer", "day", "source"]
INCLUDE = ["events", "type_mask", "purchases", "purchase_cents"]
NAME = "integ_customer_day_rollup_key"
OLD = models.UniqueConstraint(fields=FIELDS, name=NAME)
NEW = models.UniqueConstraint(fields=FIELDS, include=INCLUDE, name=NAME)
BUILDING = "integ_customer_day_key_next"  # the new index's name until it replaces the old one


def _columns(model, names: list[str]) -> str:
    return ", ".join(model._meta.get_field(name).column for name in names)


def _swap(schema_editor, model, *, old: models.UniqueConstraint, new: models.UniqueConstraint) -> None:
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_constraint(model, old)
        schema_editor.add_constraint(model, new)
        return
    table = model._meta.db_table
    include = f" INCLUDE ({_columns(model, new.include)})" if new.include else ""
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {BUILDING}")  # left by an interrupted build
    schema_editor.execute(
        f"CREATE UNIQUE INDEX CONCURRENTLY {BUILDING} ON {table} ({_columns(model, new.fields)}){include}"
    )
    # One statement: the key is never missing for a concurrent store's ON CONFLICT.
    schema_editor.execute(
        f"ALTER TABLE {table} DROP CONSTRAINT {NAME}, ADD CONSTRAINT {NAME} UNIQUE USING INDEX {BUILDING}"
    )


def forwards(apps, schema_editor):
    _swap(schema_editor, apps.get_model("integrations", "CustomerDayRollup"), old=OLD, new=NEW)


def backwards(apps, schema_editor):
    _swap(schema_editor, apps.get_model("integrations", "CustomerDayRollup"), old=NEW, new=OLD)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("integrations", "0016_customer_day_covering_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="customerdayrollup", name=NAME),
                migrations.AddConstraint(model_name="customerdayrollup", constraint=NEW),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
