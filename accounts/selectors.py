"""Account reads, always scoped to the acting user (another user's or workspace's object is NotFound)."""

import uuid

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from marketing_ai.errors import NotFound

from .models import LoginSession, Membership, Notification, User, Workspace


def membership_current_for_user(*, user: User) -> Membership | None:
    """The membership of the user's current workspace (falling back to the oldest one), or None."""
    memberships = Membership.objects.select_related("workspace").filter(user=user)
    if user.current_workspace_id:
        current = memberships.filter(workspace_id=user.current_workspace_id).first()
        if current:
            return current
    return memberships.order_by("created_at").first()


def workspace_current_for_user(*, user: User) -> Workspace:
    """The workspace the user works in now; raises NotFound when they belong to none."""
    membership = membership_current_for_user(user=user)
    if membership is None:
        raise NotFound("You do not belong to any workspace.")
    return membership.workspace


def workspace_list_for_user(*, user: User) -> QuerySet[Workspace]:
    """The workspaces the user belongs to, by name."""
    return Workspace.objects.filter(memberships__user=user).order_by("name")


def workspace_object_get_for_user(*, queryset: QuerySet, user: User, pk) -> object:
    """One object of the user's current workspace from `queryset` (a model with a `workspace` FK), else NotFound.

    The shared tenancy guard: an id of another workspace, an unknown id and a malformed id look the same.
    """
    workspace = workspace_current_for_user(user=user)
    try:
        return queryset.get(workspace=workspace, pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound() from exc


def membership_list_for_workspace(*, workspace: Workspace) -> list[Membership]:
    """The workspace's members with their users, owners first."""
    order = {role: index for index, role in enumerate(Membership.Role.values)}
    memberships = Membership.objects.filter(workspace=workspace).select_related("user")
    return sorted(memberships, key=lambda m: (order.get(m.role, 99), m.user.email))


def login_session_list_for_user(*, user: User, active_only: bool = True) -> QuerySet[LoginSession]:
    """The user's login sessions, newest first (only live ones unless asked)."""
    sessions = LoginSession.objects.filter(user=user).order_by("-created_at")
    if active_only:
        sessions = sessions.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    return sessions


def login_session_get_for_user(*, user: User, session_id) -> LoginSession:
    """One of the user's own sessions; another user's (or an unknown) id is NotFound."""
    try:
        session_id = uuid.UUID(str(session_id))
    except ValueError as exc:
        raise NotFound("Session not found.") from exc
    session = LoginSession.objects.select_related("user").filter(id=session_id, user=user).first()
    if session is None:
        raise NotFound("Session not found.")
    return session


def login_session_is_live(*, session_id: str) -> bool:
    """Whether the login session exists, is not revoked and has not expired (one primary-key query)."""
    try:
        session_id = uuid.UUID(str(session_id))
    except ValueError:
        return False
    return LoginSession.objects.filter(id=session_id, revoked_at__isnull=True, expires_at__gt=timezone.now()).exists()


def notification_list_for_user(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications in their current workspace plus those tied to none (staff alerts), newest first."""
    membership = membership_current_for_user(user=user)
    scope = Q(workspace__isnull=True)
    if membership is not None:
        scope |= Q(workspace_id=membership.workspace_id)
    rows = Notification.objects.filter(scope, user=user)
    return rows.filter(read_at=None) if unread_only else rows


def notification_get_for_user(*, user: User, notification_id: int) -> Notification:
    """One of the user's own notifications (in any of their workspaces); anyone else's is NotFound."""
    found = Notification.objects.filter(user=user, id=notification_id).first()
    if found is None:
        raise NotFound("Notification not found.")
    return found


def notification_unread_count_for_user(*, user: User) -> int:
    """How many unread notifications `notification_list_for_user` would show."""
    return notification_list_for_user(user=user, unread_only=True).count()


# (key, label, "app_label.Model") counted per workspace on the dashboard; models that do not exist yet are skipped.
DASHBOARD_COUNTS = [
    ("sources", "Data sources", "integrations.DataSource"),
    ("events", "Events", "integrations.Event"),
    ("customers", "Customers", "integrations.Customer"),
    ("conversations", "Conversations", "chat.Conversation"),
    ("campaigns", "Campaigns", "campaigns.Campaign"),
]


def dashboard_counts_for_workspace(*, workspace: Workspace) -> dict[str, dict]:
    """How much data the workspace has, per kind: {key: {"label", "count"}} (unknown models are left out)."""
    counts = {}
    for key, label, model_label in DASHBOARD_COUNTS:
        try:
            model = apps.get_model(model_label)
        except LookupError:
            continue
        counts[key] = {"label": label, "count": model.objects.filter(workspace=workspace).count()}
    return counts
