"""Staff roles of the Django admin (seed 003's admin users): Django groups with their permissions.

- support: reads everything in the admin, changes nothing (every `view_` permission);
- ops: support, plus runs the operation — jobs (retry, cancel), data sources, scheduled tasks, publications and
  alerts (every permission of those models);
- superadmin: everything.

The groups are created by a data migration and kept in step after every `migrate` (models added later, such as
alerts, get their permissions). Granting and removing a role is audited (AuditEvent staff_role_granted /
staff_role_revoked: who gave whom which role). Workspace roles are a separate matter (accounts/policy.py).
"""

from collections.abc import Iterable

from django.db import transaction

from .models import AuditEvent, User

SUPPORT, OPS, SUPERADMIN = "support", "ops", "superadmin"
STAFF_ROLES = {
    SUPPORT: "Support: reads everything in the admin, changes nothing",
    OPS: "Ops: support, plus jobs, data sources, schedules, publications and alerts",
    SUPERADMIN: "Superadmin: everything",
}
# (app label, model) pairs ops may add, change and delete; a whole app when the model is None.
OPS_MODELS = [
    ("integrations", "syncjob"),
    ("integrations", "datasource"),
    ("integrations", "webhookdelivery"),
    ("campaigns", "contentjob"),
    ("campaigns", "publication"),
    ("django_celery_beat", None),
    ("monitoring", None),
]


def staff_role_permissions(*, role: str, permissions):
    """The permissions (a Permission queryset, real or historical) a staff role holds."""
    if role == SUPERADMIN:
        return permissions.all()
    viewing = permissions.filter(codename__startswith="view_")
    if role == SUPPORT:
        return viewing
    operated = permissions.none()
    for app_label, model in OPS_MODELS:
        scope = permissions.filter(content_type__app_label=app_label)
        operated |= scope.filter(content_type__model=model) if model else scope
    return viewing | operated


def staff_groups_sync(*, group_model, permission_model) -> None:
    """Create the staff groups and give each exactly its permissions (idempotent)."""
    for role in STAFF_ROLES:
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set(staff_role_permissions(role=role, permissions=permission_model.objects))


def staff_groups_sync_after_migrate(sender, **kwargs) -> None:
    """post_migrate: once every app's permissions exist (the last app's signal), bring the groups up to date."""
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    if sender is list(apps.get_app_configs())[-1]:
        staff_groups_sync(group_model=Group, permission_model=Permission)


def staff_roles_of(user: User) -> set[str]:
    return set(user.groups.filter(name__in=STAFF_ROLES).values_list("name", flat=True))


@transaction.atomic
def staff_roles_set(
    *, user: User, roles: Iterable[str], actor: User | None, ip: str | None = None, user_agent: str = ""
) -> tuple[set[str], set[str]]:
    """Give the user exactly these staff roles (other groups untouched); `is_staff` follows (kept for
    superusers). Every role given or taken is audited with who did it. Returns (granted, revoked)."""
    from django.contrib.auth.models import Group

    wanted = set(roles)
    unknown = wanted - set(STAFF_ROLES)
    if unknown:
        raise ValueError(f"Unknown staff roles: {', '.join(sorted(unknown))}.")
    held = staff_roles_of(user)
    granted, revoked = wanted - held, held - wanted
    user.groups.add(*Group.objects.filter(name__in=granted))
    user.groups.remove(*Group.objects.filter(name__in=revoked))
    staff_roles_audit(user=user, granted=granted, revoked=revoked, actor=actor, ip=ip, user_agent=user_agent)
    return granted, revoked


def staff_roles_audit(
    *, user: User, granted: set[str], revoked: set[str], actor: User | None, ip: str | None, user_agent: str = ""
) -> None:
    """Record the staff roles given and taken (the admin's user form changes groups itself, then calls this), and
    let the user into the admin exactly while they hold a staff role."""
    from .services import audit_record

    is_staff = bool(staff_roles_of(user)) or user.is_superuser
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff", "updated_at"])
    for kind, roles in ((AuditEvent.Kind.STAFF_ROLE_GRANTED, granted), (AuditEvent.Kind.STAFF_ROLE_REVOKED, revoked)):
        for role in sorted(roles):
            audit_record(
                kind=kind,
                user=actor,
                ip=ip,
                user_agent=user_agent,
                member=user.email,
                role=role,
                by=actor.email if actor else "system",
            )
