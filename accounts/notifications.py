"""Notification writes: the one way any app tells a user something (in the app, and by e-mail after commit).

Campaign approvals, AI key checks and operations alerts all call `notification_create`; reads live in
`accounts.selectors` (`notification_list_for_user`, `notification_unread_count_for_user`).
"""

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from marketing_ai.errors import NotFound
from marketing_ai.live import live_publish

from .models import Notification, User, Workspace

MESSAGE_MAX = 500


def notification_create(
    *,
    users: Iterable[User | None],
    kind: str,
    message: str,
    workspace: Workspace | None = None,
    url: str = "",
    subject: str = "",
    level: str = Notification.Level.INFO,
    email: bool = True,
) -> list[Notification]:
    """One notification per distinct user (None entries skipped), inside the caller's transaction.

    Each is e-mailed once the transaction commits when `email` is set; a notice without a workspace
    (staff alerts) shows in every workspace of its user.
    """
    seen, rows = set(), []
    for user in users:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        row = Notification(
            workspace=workspace,
            user=user,
            kind=kind,
            level=level,
            message=message[:MESSAGE_MAX],
            url=url,
            subject=subject,
        )
        row.full_clean(exclude=["user", "workspace"])
        rows.append(row)
    created = Notification.objects.bulk_create(rows)
    for row in created:  # the bell of each recipient's open pages, after commit; alerts too
        kind_of = "alert.raised" if row.level != Notification.Level.INFO else "notification.created"
        live_publish(kind=kind_of, user_id=row.user_id, data={"message": row.message, "url": row.url})
    ids = [row.pk for row in created if row.pk]
    if email and ids:
        transaction.on_commit(lambda: notification_email(notification_ids=ids))
    return created


def notification_email(*, notification_ids: list[int]) -> int:
    """E-mail the given notifications that were not e-mailed yet; returns how many were sent."""
    sent = 0
    pending = Notification.objects.select_related("user").filter(id__in=notification_ids, emailed_at=None)
    for notification in pending:
        send_mail(
            subject=f"[Marketing AI] {notification.message[:90]}",
            message=f"{notification.message}\n\nOpen: {notification.url}" if notification.url else notification.message,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.user.email],
            fail_silently=True,
        )
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one (or every) unread notification of the user as read; another user's id is NotFound."""
    rows = Notification.objects.filter(user=user)
    if notification_id is not None:
        rows = rows.filter(id=notification_id)
        if not rows.exists():
            raise NotFound("Notification not found.")
    return rows.filter(read_at=None).update(read_at=timezone.now())


def notification_delete_for_subject(*, subject: str) -> int:
    """Remove every notification about a subject that no longer exists (e.g. a deleted campaign)."""
    if not subject:
        return 0
    deleted, _ = Notification.objects.filter(subject=subject).delete()
    return deleted
