from django.contrib.auth.management import create_permissions
from django.db import migrations, models


def staff_groups_create(apps, schema_editor):
    """The support, ops and superadmin groups with their permissions (accounts/staff.py says which)."""
    from accounts.staff import staff_groups_sync

    # Permissions are normally created after `migrate` ends; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    staff_groups_sync(group_model=apps.get_model("auth", "Group"), permission_model=apps.get_model("auth", "Permission"))


def staff_groups_delete(apps, schema_editor):
    from accounts.staff import STAFF_ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=STAFF_ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_rate_counter"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("integrations", "0010_job_heartbeat_attempts_cancelled"),
        ("campaigns", "0006_usagedailysummary_moved_to_ai"),
        ("ai", "0001_initial"),
        ("chat", "0002_providercall_moved_to_ai"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("registered", "Registered"),
                    ("login_succeeded", "Login succeeded"),
                    ("login_failed", "Login failed"),
                    ("locked_out", "Locked out"),
                    ("refresh_reuse", "Refresh token reuse"),
                    ("session_revoked", "Session revoked"),
                    ("logged_out", "Logged out"),
                    ("password_changed", "Password changed"),
                    ("member_added", "Member added"),
                    ("provider_key_changed", "Provider key changed"),
                    ("staff_role_granted", "Staff role granted"),
                    ("staff_role_revoked", "Staff role revoked"),
                ],
                db_index=True,
                max_length=32,
            ),
        ),
        migrations.RunPython(staff_groups_create, staff_groups_delete),
    ]
