"""Members with a role in a workspace, for the permission and notification tests."""

from accounts.models import Membership, User

PASSWORD = "Correct-Horse-42"


def member(*, workspace, role: str, email: str | None = None) -> User:
    """A user who belongs to `workspace` with `role` and works in it now."""
    email = email or f"{role}-{User.objects.count() + 1}@{workspace.name.lower().replace(' ', '')}.test"
    user = User.objects.create_user(email=email, password=PASSWORD, first_name=role.title(), last_name="Member")
    Membership.objects.create(user=user, workspace=workspace, role=role)
    user.current_workspace = workspace
    user.save(update_fields=["current_workspace"])
    return user
