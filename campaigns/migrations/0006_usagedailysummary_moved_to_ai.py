"""UsageDailySummary now lives in the ai app (ai 0001 renamed its table and kept every row): state only here."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0005_publication"),
        ("ai", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="UsageDailySummary")]),
    ]
