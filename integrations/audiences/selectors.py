"""Reads of saved audiences, scoped to the actor's current workspace (another workspace's audience is a 404)."""

from django.db.models import QuerySet

from accounts.models import User, Workspace
from accounts.policy import role_allows
from accounts.selectors import membership_current_for_user, workspace_current_for_user
from integrations.models import Customer
from marketing_ai.errors import NotFound

from .models import Audience, AudienceSizePoint


def audience_list_for_user(*, user: User) -> QuerySet[Audience]:
    return Audience.objects.filter(workspace=workspace_current_for_user(user=user))


def audience_get_for_user(*, user: User, audience_id: int) -> Audience:
    audience = audience_list_for_user(user=user).filter(id=audience_id).first()
    if audience is None:
        raise NotFound("Audience not found.")
    return audience


def audience_list_for_workspace(*, workspace: Workspace) -> QuerySet[Audience]:
    return Audience.objects.filter(workspace=workspace)


def audience_customers(*, audience: Audience) -> QuerySet[Customer]:
    """The audience's members at its last refresh, most valuable first (a lazy queryset: callers paginate)."""
    return Customer.objects.filter(workspace_id=audience.workspace_id, audience_members__audience=audience).order_by(
        "-total_value", "-last_seen_at", "id"
    )


def audience_size_history(*, audience: Audience, limit: int = 90) -> list[AudienceSizePoint]:
    """The audience's last `limit` sizes, oldest first."""
    points = AudienceSizePoint.objects.filter(audience=audience).order_by("-measured_at", "-id")[:limit]
    return list(reversed(points))


def audience_may_edit(*, user: User) -> bool:
    """Whether the user's role in the current workspace manages audiences (pages hide the buttons otherwise)."""
    membership = membership_current_for_user(user=user)
    return bool(membership) and role_allows(membership.role, "audiences.edit")
