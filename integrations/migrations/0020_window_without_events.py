from django.db import migrations, models

# The overview takes the events from the day totals and a customer's activity from its type mask, so the window
# and its signatures keep neither (a signature's key is unchanged: `active` was `mask <> 0`). Going back, the
# window is emptied and marked stale first, so the restored columns are added to empty tables and the window is
# rebuilt on its next read (integrations/window.py).
WINDOW_FORGET = [
    "DELETE FROM integrations_windowsignature",
    "DELETE FROM integrations_customerwindow",
    "DELETE FROM integrations_defaultwindow",
]


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_staff_roles'),
        ('integrations', '0019_window_rows_per_source_only'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='windowsignature',
            name='integ_window_signature_key',
        ),
        migrations.RemoveField(
            model_name='customerwindow',
            name='events',
        ),
        migrations.RemoveField(
            model_name='windowsignature',
            name='active',
        ),
        migrations.RemoveField(
            model_name='windowsignature',
            name='events',
        ),
        migrations.AddConstraint(
            model_name='windowsignature',
            constraint=models.UniqueConstraint(fields=('workspace', 'scope', 'mask', 'previous_mask', 'purchases', 'purchase_cents'), name='integ_window_signature_key'),
        ),
        migrations.RunSQL(migrations.RunSQL.noop, WINDOW_FORGET),
    ]
