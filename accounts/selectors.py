from django.db.models import QuerySet

from marketing_ai.errors import NotFound

from .models import LoginSession, Membership, User, Workspace


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
    return Workspace.objects.filter(memberships__user=user).order_by("name")


def login_session_list_for_user(*, user: User) -> QuerySet[LoginSession]:
    return LoginSession.objects.filter(user=user).order_by("-created_at")
