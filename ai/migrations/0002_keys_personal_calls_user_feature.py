"""Personal provider keys (ProviderKey.user), keys marked invalid when the provider refuses them, the models a key
reaches; the member and product feature of each ProviderCall, the feature of existing calls derived from their
purpose."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# purpose -> feature, as ai.calls.FEATURE_OF_PURPOSE had it when this migration was written.
FEATURE_OF_PURPOSE = {
    "chat": "chat",
    "intent": "chat",
    "content": "content",
    "image": "content",
    "recommendation": "recommendations",
    "file_analysis": "file_analysis",
}


def features_backfilled(apps, schema_editor):
    call = apps.get_model("ai", "ProviderCall")
    for purpose, feature in FEATURE_OF_PURPOSE.items():
        call.objects.filter(purpose=purpose).update(feature=feature)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_rate_counter"),
        ("ai", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="providerkey",
            name="ai_providerkey_unique",
        ),
        migrations.AddField(
            model_name="providercall",
            name="feature",
            field=models.CharField(
                choices=[
                    ("chat", "Chat"),
                    ("content", "Content"),
                    ("file_analysis", "File analysis"),
                    ("recommendations", "Recommendations"),
                    ("other", "Other"),
                ],
                default="other",
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name="providercall",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="provider_calls",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="providerkey",
            name="invalid_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="providerkey",
            name="invalid_reason",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="providerkey",
            name="model_ids",
            field=models.JSONField(
                blank=True, default=list, help_text="Model ids the key reached when it was checked."
            ),
        ),
        migrations.AddField(
            model_name="providerkey",
            name="user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="personal_provider_keys",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="providerkey",
            constraint=models.UniqueConstraint(
                condition=models.Q(("user__isnull", True)),
                fields=("workspace", "provider"),
                name="ai_providerkey_workspace_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="providerkey",
            constraint=models.UniqueConstraint(
                condition=models.Q(("user__isnull", False)),
                fields=("workspace", "user", "provider"),
                name="ai_providerkey_personal_unique",
            ),
        ),
        migrations.RunPython(features_backfilled, migrations.RunPython.noop),
    ]
