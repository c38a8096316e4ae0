from django.db import migrations, models

# The window keeps per-source rows only; the all-sources rows' signatures stay as they are (they are the source
# rows added up, which the code now does where it needs them).
ALL_SOURCES_ROWS_DROP = "DELETE FROM integrations_customerwindow WHERE scope = 0"
ALL_SOURCES_ROWS_ADD = """
INSERT INTO integrations_customerwindow (workspace_id, customer_id, scope, events, mask, previous_mask, purchases,
    purchase_cents)
SELECT workspace_id, customer_id, 0, sum(events), bit_or(mask), bit_or(previous_mask), sum(purchases),
    sum(purchase_cents)
FROM integrations_customerwindow GROUP BY workspace_id, customer_id
"""


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0018_window_rows_without_workspace_constraint'),
    ]

    operations = [
        migrations.RunSQL(ALL_SOURCES_ROWS_DROP, ALL_SOURCES_ROWS_ADD),
        migrations.AlterField(
            model_name='customerwindow',
            name='scope',
            field=models.BigIntegerField(help_text="The source's id (all sources: only in signatures)."),
        ),
    ]
