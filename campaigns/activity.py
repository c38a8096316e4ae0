"""The campaign activity log and notifications (in the app, and by e-mail after commit)."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User, Workspace

from .models import ActivityLog, Campaign, Notification

ROLE_RANK = {
    Membership.Role.VIEWER: 0,
    Membership.Role.EDITOR: 1,
    Membership.Role.APPROVER: 2,
    Membership.Role.ADMIN: 3,
    Membership.Role.OWNER: 4,
}


def activity_record(
    *, workspace: Workspace, campaign: Campaign | None, actor: User | None, verb: str, message: str, **detail
) -> ActivityLog:
    """Append one validated entry to the activity log (inside the caller's transaction)."""
    entry = ActivityLog(workspace=workspace, campaign=campaign, actor=actor, verb=verb, message=message, detail=detail)
    entry.full_clean()
    entry.save()
    return entry


def notification_send(*, users: list[User], campaign: Campaign, kind: str, message: str) -> list[Notification]:
    """Create one in-app notification per user; each is e-mailed once the transaction commits."""
    url = reverse("campaigns:campaign-detail", args=[campaign.pk])
    seen, rows = set(), []
    for user in users:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(
            Notification(
                workspace_id=campaign.workspace_id,
                user=user,
                campaign=campaign,
                kind=kind,
                message=message[:500],
                url=url,
            )
        )
    created = Notification.objects.bulk_create(rows)
    ids = [row.pk for row in created if row.pk]
    if ids:
        transaction.on_commit(lambda: notification_email(notification_ids=ids))
    return created


def notification_email(*, notification_ids: list[int]) -> int:
    """E-mail the given notifications through Django's mail backend; returns how many were sent."""
    sent = 0
    for notification in Notification.objects.select_related("user").filter(id__in=notification_ids, emailed_at=None):
        send_mail(
            subject=f"[Marketing AI] {notification.message[:90]}",
            message=f"{notification.message}\n\nOpen: {notification.url}",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.user.email],
            fail_silently=True,
        )
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def members_with_role_at_least(*, workspace: Workspace, role: str) -> list[User]:
    """Members of the workspace whose role ranks at least `role`."""
    needed = ROLE_RANK[role]
    allowed = [name for name, rank in ROLE_RANK.items() if rank >= needed]
    return list(
        User.objects.filter(memberships__workspace=workspace, memberships__role__in=allowed, is_active=True).distinct()
    )


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one (or every) unread notification of the user as read."""
    rows = Notification.objects.filter(user=user, read_at=None)
    if notification_id is not None:
        rows = rows.filter(id=notification_id)
    return rows.update(read_at=timezone.now())
