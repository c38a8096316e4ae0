"""Room on each page of the default window's tables (PostgreSQL): every store updates its customers' window rows
and their signatures, and an update that finds room on its row's page writes no index entry (a HOT update).
Pages written before keep their layout; pages written after (new rows, rebuilds) leave the room."""

from django.db import migrations

TABLES = ("integrations_customerwindow", "integrations_windowsignature")


def _fillfactor(value):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {value})")

    return run


class Migration(migrations.Migration):
    dependencies = [("integrations", "0014_default_window")]

    operations = [migrations.RunPython(_fillfactor(70), _fillfactor(100))]
