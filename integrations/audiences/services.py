"""Writes of saved audiences: create, edit, delete (editors and up) and refresh (now, queued, or on schedule).

A refresh evaluates the rules in one `INSERT ... SELECT` over the customers (the rules compile to SQL over the
profiles and the per-customer rollups, `rules.py`), replacing the member rows in one transaction, and records the
size in the history.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Value
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.policy import policy_require
from accounts.selectors import workspace_current_for_user
from integrations.models import Customer
from marketing_ai.celery import QUEUE_UNAVAILABLE, task_publish_on_commit
from marketing_ai.errors import ApplicationError, Conflict

from .models import Audience, AudienceMember, AudienceSizePoint
from .rules import rules_condition, rules_validate

logger = logging.getLogger(__name__)
REFRESHING = (Audience.RefreshStatus.QUEUED, Audience.RefreshStatus.RUNNING)


def _name_clean(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ApplicationError("Some fields are invalid.", errors={"name": ["Give the audience a name."]})
    if len(name) > Audience._meta.get_field("name").max_length:
        raise ApplicationError("Some fields are invalid.", errors={"name": ["At most 120 characters."]})
    return name


def _saved(audience: Audience, fields: list[str] | None = None) -> Audience:
    """Save, answering 409 for a name the workspace already uses (the unique constraint decides races)."""
    try:
        with transaction.atomic():
            audience.save(update_fields=fields)
    except IntegrityError as error:
        raise Conflict(f"An audience named “{audience.name}” already exists.") from error
    return audience


@transaction.atomic
def audience_create(*, user: User, name: str, rules, description: str = "") -> Audience:
    """A new audience in the user's current workspace (editors and up), refreshed once its row is committed."""
    workspace = workspace_current_for_user(user=user)
    policy_require(user=user, workspace=workspace, action="audiences.edit")
    audience = Audience(
        workspace=workspace,
        name=_name_clean(name),
        description=(description or "").strip()[:500],
        rules=rules_validate(rules),
        created_by=user,
    )
    _saved(audience)
    audience_refresh_start(audience=audience, user=user)
    return audience


@transaction.atomic
def audience_update(*, audience: Audience, user: User, data: dict) -> Audience:
    """Edit name, description and rules (editors and up); new rules queue a refresh."""
    policy_require(user=user, workspace=audience.workspace_id, action="audiences.edit")
    fields = []
    if "name" in data:
        audience.name = _name_clean(data["name"])
        fields.append("name")
    if "description" in data:
        audience.description = (data["description"] or "").strip()[:500]
        fields.append("description")
    rules_changed = "rules" in data and rules_validate(data["rules"]) != audience.rules
    if rules_changed:
        audience.rules = rules_validate(data["rules"])
        fields.append("rules")
    if fields:
        _saved(audience, [*fields, "updated_at"])
    if rules_changed:
        audience_refresh_start(audience=audience, user=user)
    return audience


@transaction.atomic
def audience_delete(*, audience: Audience, user: User) -> None:
    """Delete the audience with its members and history; campaigns keep their launch snapshot."""
    policy_require(user=user, workspace=audience.workspace_id, action="audiences.edit")
    audience.delete()


def audience_refresh_start(*, audience: Audience, user: User | None) -> Audience:
    """Queue a refresh (a Celery task after commit); one already queued or running is not queued twice."""
    policy_require(user=user, workspace=audience.workspace_id, action="audiences.edit")
    with transaction.atomic():
        claimed = (
            Audience.objects.filter(id=audience.id)
            .exclude(refresh_status__in=REFRESHING)
            .update(refresh_status=Audience.RefreshStatus.QUEUED, refresh_error="", updated_at=timezone.now())
        )
        if claimed:
            from integrations.tasks import audience_refresh_task

            def unqueued():
                Audience.objects.filter(id=audience.id, refresh_status=Audience.RefreshStatus.QUEUED).update(
                    refresh_status=Audience.RefreshStatus.FAILED, refresh_error=QUEUE_UNAVAILABLE
                )

            task_publish_on_commit(audience_refresh_task, audience.id, on_unavailable=unqueued)
    audience.refresh_from_db()
    return audience


def audience_members_sql(*, audience: Audience) -> Q:
    """The audience's rules as a filter over its workspace's customers."""
    return rules_condition(workspace=audience.workspace, rules=audience.rules)


def audience_preview_size(*, workspace: Workspace, rules) -> int:
    """How many of the workspace's customers the rules select now (validated; nothing is stored)."""
    condition = rules_condition(workspace=workspace, rules=rules_validate(rules))
    return Customer.objects.filter(workspace=workspace).filter(condition).count()


def audience_refresh(*, audience_id: int) -> Audience | None:
    """Evaluate the rules now: members replaced and size recorded in one transaction; a failure is recorded on
    the audience. None when the audience was deleted meanwhile."""
    Audience.objects.filter(id=audience_id, refresh_status=Audience.RefreshStatus.QUEUED).update(
        refresh_status=Audience.RefreshStatus.RUNNING
    )
    with transaction.atomic():
        audience = Audience.objects.select_for_update().select_related("workspace").filter(id=audience_id).first()
        if audience is None:
            return None
        try:
            with transaction.atomic():
                size = _members_replace(audience)
        except Exception:  # the rules of another release, a database error: recorded, never a silent stale size
            logger.exception("Audience %s could not be refreshed", audience_id)
            audience.refresh_status = Audience.RefreshStatus.FAILED
            audience.refresh_error = "The audience could not be evaluated; its previous members are kept."
            audience.save(update_fields=["refresh_status", "refresh_error", "updated_at"])
            return audience
        now = timezone.now()
        audience.size, audience.refreshed_at = size, now
        audience.refresh_status, audience.refresh_error = Audience.RefreshStatus.SUCCEEDED, ""
        audience.save(update_fields=["size", "refreshed_at", "refresh_status", "refresh_error", "updated_at"])
        AudienceSizePoint.objects.create(audience=audience, measured_at=now, size=size)
    return audience


def _members_replace(audience: Audience) -> int:
    """Delete the member rows and insert the customers the rules select, in one INSERT ... SELECT."""
    AudienceMember.objects.filter(audience=audience).delete()
    selected = (
        Customer.objects.filter(workspace=audience.workspace)
        .filter(audience_members_sql(audience=audience))
        .order_by()
        .values_list(Value(audience.id), "id")
    )
    query, params = selected.query.sql_with_params()
    table = AudienceMember._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (audience_id, customer_id) {query}", params)  # noqa: S608 (own SQL)
        return max(cursor.rowcount, 0)


def audiences_refresh_due() -> int:
    """Beat: queue a refresh of every audience older than AUDIENCE_REFRESH_MINUTES (idle ones only)."""
    stale = timezone.now() - timedelta(minutes=settings.AUDIENCE_REFRESH_MINUTES)
    due = Audience.objects.exclude(refresh_status__in=REFRESHING).filter(
        Q(refreshed_at__isnull=True) | Q(refreshed_at__lt=stale)
    )
    queued = 0
    for audience in due.only("id", "workspace_id").iterator():
        try:
            audience_refresh_start(audience=audience, user=None)
        except ApplicationError as error:  # the broker is down: the rest waits for the next beat
            logger.warning("Scheduled audience refreshes stopped: %s", error.message)
            break
        queued += 1
    return queued


def audience_launch_snapshot(*, audience: Audience) -> dict:
    """The audience's definition and its size now (a refresh in the caller's transaction), for a campaign launch."""
    refreshed = audience_refresh(audience_id=audience.id) or audience
    return {
        "id": audience.id,
        "name": refreshed.name,
        "rules": refreshed.rules,
        "size": refreshed.size,
        "at": (refreshed.refreshed_at or timezone.now()).isoformat(),
    }
