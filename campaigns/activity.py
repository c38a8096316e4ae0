"""The campaign activity log, and campaign notices through the accounts notification service."""

from django.urls import reverse

from accounts.models import Notification, User, Workspace
from accounts.notifications import notification_create
from accounts.policy import roles_at_least
from marketing_ai.live import live_publish

from .models import ActivityLog, Campaign


def activity_record(
    *, workspace: Workspace, campaign: Campaign | None, actor: User | None, verb: str, message: str, **detail
) -> ActivityLog:
    """Append one validated entry to the activity log (inside the caller's transaction)."""
    entry = ActivityLog(workspace=workspace, campaign=campaign, actor=actor, verb=verb, message=message, detail=detail)
    entry.full_clean()
    entry.save()
    # Every campaign change (state, content, approvals) is logged here, so the board and detail pages hear of it
    # from here too, after commit.
    live_publish(
        kind="campaign.changed",
        workspace_id=workspace.id,
        key=str(campaign.pk if campaign else ""),
        data={"campaignId": campaign.pk if campaign else None, "status": getattr(campaign, "status", ""), "verb": verb},
    )
    return entry


def campaign_subject(campaign: Campaign | int) -> str:
    """The notification subject of a campaign (its notices go when it is deleted)."""
    return f"campaign:{campaign if isinstance(campaign, int) else campaign.pk}"


def campaign_notify(*, users: list[User | None], campaign: Campaign, kind: str, message: str) -> list[Notification]:
    """Notify users about a campaign (in the app, e-mailed after commit), linking to its page."""
    return notification_create(
        users=users,
        workspace=campaign.workspace,
        kind=kind,
        message=message,
        url=reverse("campaigns:campaign-detail", args=[campaign.pk]),
        subject=campaign_subject(campaign),
    )


def members_with_role_at_least(*, workspace: Workspace, role: str) -> list[User]:
    """Members of the workspace whose role ranks at least `role` (the policy's ranks)."""
    allowed = roles_at_least(role)
    return list(
        User.objects.filter(memberships__workspace=workspace, memberships__role__in=allowed, is_active=True).distinct()
    )
