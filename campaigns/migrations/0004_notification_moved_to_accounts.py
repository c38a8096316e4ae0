"""Notifications now belong to accounts (accounts 0002 took over the model and its table, rows untouched)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_providercall_day_statistics"),
        ("accounts", "0002_notification_moved_from_campaigns"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Notification")],
            database_operations=[],
        ),
    ]
