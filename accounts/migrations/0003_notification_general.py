"""Notifications for more than campaigns: a `subject` key replaces the campaign link, a level, a workspace that
may be empty (staff alerts), and the table takes the accounts name. Every row is kept (campaign 42 -> subject
"campaign:42"), in both directions."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat

PREFIX = "campaign:"


def subject_from_campaign(apps, schema_editor):
    Notification = apps.get_model("accounts", "Notification")
    Notification.objects.filter(campaign__isnull=False).update(
        subject=Concat(Value(PREFIX), Cast("campaign_id", output_field=CharField()))
    )


def campaign_from_subject(apps, schema_editor):
    Notification = apps.get_model("accounts", "Notification")
    Campaign = apps.get_model("campaigns", "Campaign")
    rows = Notification.objects.filter(subject__startswith=PREFIX).values_list("id", "subject")
    for row_id, subject in rows.iterator():
        campaign_id = subject.removeprefix(PREFIX)
        if campaign_id.isdigit() and Campaign.objects.filter(id=int(campaign_id)).exists():
            Notification.objects.filter(id=row_id).update(campaign_id=int(campaign_id))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_notification_moved_from_campaigns"),
        ("campaigns", "0004_notification_moved_to_accounts"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="subject",
            field=models.CharField(blank=True, db_index=True, default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="notification",
            name="level",
            field=models.CharField(
                choices=[("info", "Info"), ("warning", "Warning"), ("critical", "Critical")],
                default="info",
                max_length=16,
            ),
        ),
        migrations.RunPython(subject_from_campaign, campaign_from_subject),
        migrations.RemoveField(model_name="notification", name="campaign"),
        migrations.AlterField(
            model_name="notification",
            name="workspace",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to="accounts.workspace",
            ),
        ),
        migrations.AlterModelTable(name="notification", table=None),
        migrations.RenameIndex(
            model_name="notification", new_name="accounts_notif_user_idx", old_name="campaigns_notif_user_idx"
        ),
    ]
