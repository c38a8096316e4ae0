"""Invitations by e-mail link (DESIGN §4): someone without an account (or with one) joins a workspace.

A link is single use and expires after `INVITATION_DAYS`; only the token's SHA-256 is stored. Owners and
admins invite (owners alone invite owners); accepting needs the invited address signed in.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from marketing_ai.errors import ApplicationError, Conflict, NotFound, PermissionDenied

from .models import AuditEvent, Invitation, Membership, User, Workspace
from .services import audit_record, email_normalize, member_role_grant_check

GONE = 410


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    return reverse("accounts:invitation", args=[token])


@transaction.atomic
def invitation_create(*, workspace: Workspace, actor: User, email: str, role: str) -> tuple[Invitation, str]:
    """Invite an address with a role; returns the invitation and its token (e-mailed after commit).

    An open invitation to the same address is replaced (its link stops working). 403 for members who may not
    invite, 400 for a bad address or role, 409 when the address already belongs to a member."""
    member_role_grant_check(workspace=workspace, actor=actor, role=role, action="invite")
    email = email_normalize(email or "")
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": ["Enter a valid e-mail address."]}) from None
    if Membership.objects.filter(workspace=workspace, user__email=email).exists():
        raise Conflict("This person is already a member of the workspace.")
    now = timezone.now()
    Invitation.objects.filter(workspace=workspace, email=email, accepted_at=None, revoked_at=None).update(
        revoked_at=now, updated_at=now
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        workspace=workspace,
        email=email,
        role=role,
        token_sha256=_digest(token),
        invited_by=actor,
        expires_at=now + timedelta(days=settings.INVITATION_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    audit_record(kind=AuditEvent.Kind.MEMBER_ADDED, user=actor, workspace=workspace.id, invited=email, role=role)
    transaction.on_commit(lambda: invitation_email(invitation=invitation, token=token))
    return invitation, token


def invitation_email(*, invitation: Invitation, token: str) -> None:
    """Send the link; the base address comes from `APP_BASE_URL` (the link works relative to any host too)."""
    inviter = invitation.invited_by.full_name if invitation.invited_by else "A colleague"
    link = settings.APP_BASE_URL.rstrip("/") + invitation_url(token)
    send_mail(
        subject=f"[Marketing AI] {inviter} invited you to {invitation.workspace.name}",
        message=(
            f"{inviter} invited you to join {invitation.workspace.name} on Marketing AI as "
            f"{invitation.get_role_display().lower()}.\n\nAccept the invitation: {link}\n\n"
            f"The link works once and expires in {settings.INVITATION_DAYS} days."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
        fail_silently=True,
    )


def invitation_get_by_token(*, token: str) -> Invitation:
    """The invitation of a link: NotFound for an unknown token, 410 for a used, revoked or expired one."""
    invitation = (
        Invitation.objects.select_related("workspace", "invited_by").filter(token_sha256=_digest(token)).first()
    )
    if invitation is None:
        raise NotFound("This invitation link is not valid.")
    if invitation.accepted_at is not None:
        raise ApplicationError("This invitation was already used. Sign in to open the workspace.", status=GONE)
    if invitation.revoked_at is not None:
        raise ApplicationError("This invitation was withdrawn or replaced by a newer one.", status=GONE)
    if invitation.expires_at <= timezone.now():
        raise ApplicationError("This invitation has expired. Ask for a new one.", status=GONE)
    return invitation


def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the workspace with the invited role and make it the user's current one; the link is then used.

    403 when the signed-in address is not the invited one; 410 when the link was used, withdrawn or expired."""
    with transaction.atomic():
        invitation = invitation_get_by_token(token=token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:  # a concurrent acceptance won
            raise ApplicationError("This invitation was already used.", status=GONE)
        if email_normalize(user.email) != invitation.email:
            raise PermissionDenied(f"This invitation is for {invitation.email}. Sign in with that address to accept.")
        try:
            membership, _created = Membership.objects.get_or_create(
                user=user, workspace=invitation.workspace, defaults={"role": invitation.role}
            )
        except IntegrityError as exc:
            raise Conflict("You are already a member of this workspace.") from exc
        invitation.accepted_at, invitation.accepted_by = timezone.now(), user
        invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
        user.current_workspace = invitation.workspace
        user.save(update_fields=["current_workspace", "updated_at"])
    return membership


def invitation_revoke(*, invitation_id: int, workspace: Workspace, actor: User) -> None:
    """Withdraw an open invitation of the workspace (owners and admins)."""
    member_role_grant_check(workspace=workspace, actor=actor, role=Membership.Role.VIEWER, action="invite")
    found = Invitation.objects.filter(id=invitation_id, workspace=workspace, accepted_at=None, revoked_at=None)
    if not found.update(revoked_at=timezone.now(), updated_at=timezone.now()):
        raise NotFound("Invitation not found.")


def invitation_list_open(*, workspace: Workspace) -> list[Invitation]:
    """Invitations of the workspace not yet accepted, withdrawn or expired, newest first."""
    now = timezone.now()
    rows = Invitation.objects.filter(workspace=workspace, accepted_at=None, revoked_at=None, expires_at__gt=now)
    return list(rows.select_related("invited_by").order_by("-created_at"))
