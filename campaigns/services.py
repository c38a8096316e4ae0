"""Campaign writes: create (by hand or from a recommendation), edit, delete and status transitions."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.display import label
from accounts.models import User, Workspace
from accounts.notifications import notification_delete_for_subject
from accounts.policy import policy_require
from integrations.audiences.selectors import audience_list_for_workspace
from integrations.audiences.services import audience_launch_snapshot
from marketing_ai.errors import ApplicationError, Conflict, NotFound

from .activity import activity_record, campaign_subject
from .models import ApprovalStep, ApprovalWorkflow, Campaign, CampaignRecommendation
from .models.campaign import Platform

Status = Campaign.Status
EDITABLE_STATUSES = {Status.DRAFT, Status.REJECTED}
CAMPAIGN_FIELDS = (
    "name",
    "objective",
    "segment",
    "audience_id",
    "channels",
    "budget",
    "starts_at",
    "ends_at",
    "platform_campaign_id",
)

# Every allowed move; the workflow owns in_review/approved/rejected, people own the rest.
TRANSITIONS: dict[str, set[str]] = {
    Status.DRAFT: {Status.IN_REVIEW},
    Status.IN_REVIEW: {Status.APPROVED, Status.REJECTED, Status.DRAFT},
    Status.APPROVED: {Status.SCHEDULED},
    Status.SCHEDULED: {Status.ACTIVE, Status.APPROVED},
    Status.ACTIVE: {Status.COMPLETED},
    Status.REJECTED: {Status.DRAFT, Status.IN_REVIEW},
    Status.COMPLETED: set(),
}
WORKFLOW_STATUSES = {Status.IN_REVIEW, Status.APPROVED, Status.REJECTED}


def audience_id_clean(*, workspace: Workspace, audience_id: int | None) -> int | None:
    """The id of one of the workspace's saved audiences, or None; a 400 naming `audienceId` otherwise."""
    if audience_id is None:
        return None
    if not audience_list_for_workspace(workspace=workspace).filter(id=audience_id).exists():
        raise ApplicationError(
            "Some fields are invalid.", errors={"audienceId": ["No such audience in this workspace."]}
        )
    return audience_id


def channels_clean(channels) -> list[str]:
    """Known platform names, de-duplicated in order."""
    known = set(Platform.values)
    result = []
    for channel in channels or []:
        name = str(channel).strip().lower()
        name = {"twitter": "x", "fb": "facebook", "ig": "instagram"}.get(name, name)
        if name in known and name not in result:
            result.append(name)
    return result


@transaction.atomic
def campaign_create(
    *,
    user: User,
    workspace: Workspace,
    name: str,
    objective: str,
    segment: str = "",
    channels: list | None = None,
    budget: Decimal = Decimal("0"),
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    recommendation: CampaignRecommendation | None = None,
    audience_id: int | None = None,
    **extra,
) -> Campaign:
    """Create a draft campaign in the workspace (editors and up) and log it."""
    policy_require(user=user, workspace=workspace, action="campaigns.edit")
    campaign = Campaign(
        audience_id=audience_id_clean(workspace=workspace, audience_id=audience_id),
        workspace=workspace,
        created_by=user,
        recommendation=recommendation,
        name=name.strip(),
        objective=objective.strip(),
        segment=segment,
        channels=channels_clean(channels),
        budget=budget,
        starts_at=starts_at,
        ends_at=ends_at,
        **extra,
    )
    campaign.full_clean()
    campaign.save()
    source = f" from the recommendation “{recommendation.name}”" if recommendation else ""
    activity_record(
        workspace=workspace,
        campaign=campaign,
        actor=user,
        verb="created",
        message=f"{user.full_name} created the campaign{source}."[:1000],
    )
    return campaign


def campaign_create_from_recommendation(*, user: User, recommendation: CampaignRecommendation) -> Campaign:
    """One click: a draft campaign carrying the recommendation's fields and rationale."""
    budget = recommendation.kpi_targets.get("budget") if isinstance(recommendation.kpi_targets, dict) else None
    try:
        budget = max(Decimal(str(budget)), Decimal("0")) if budget is not None else Decimal("0")
    except ArithmeticError:
        budget = Decimal("0")
    return campaign_create(
        user=user,
        workspace=recommendation.workspace,
        recommendation=recommendation,
        name=recommendation.name[:200],
        objective=recommendation.objective[:500],
        segment=recommendation.segment,
        channels=recommendation.channels,
        budget=budget.quantize(Decimal("0.01")),
        rationale=recommendation.rationale,
        key_message=recommendation.key_message,
        offer=recommendation.offer[:500],
        kpi_targets=recommendation.kpi_targets or {},
    )


def campaign_locked(campaign: Campaign) -> Campaign:
    """The campaign's row, locked until the caller's transaction ends, so state changes run one at a time and each
    sees the state the previous one left; NotFound when it was deleted meanwhile."""
    locked = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    if locked is None:
        raise NotFound("Campaign not found.")
    return locked


@transaction.atomic
def campaign_update(*, campaign: Campaign, user: User, data: dict) -> Campaign:
    """Edit the fields of a draft or rejected campaign; a `status` key goes through `campaign_transition`."""
    policy_require(user=user, workspace=campaign.workspace, action="campaigns.edit")
    campaign = campaign_locked(campaign)
    status = data.pop("status", None)
    changed = [field for field in CAMPAIGN_FIELDS if field in data and getattr(campaign, field) != data[field]]
    if changed:
        if campaign.status not in EDITABLE_STATUSES:
            raise Conflict(f"A campaign that is {campaign.get_status_display().lower()} cannot be edited.")
        for field in changed:
            value = channels_clean(data[field]) if field == "channels" else data[field]
            if field == "audience_id":
                value = audience_id_clean(workspace=campaign.workspace, audience_id=value)
            setattr(campaign, field, value.strip() if isinstance(value, str) else value)
        campaign.full_clean()
        campaign.save(update_fields=[*changed, "updated_at"])
        activity_record(
            workspace=campaign.workspace,
            campaign=campaign,
            actor=user,
            verb="edited",
            message=f"{user.full_name} edited {', '.join(changed)}.",
        )
    if status is not None and status != campaign.status:
        if status in WORKFLOW_STATUSES:
            raise Conflict("Submit the campaign for approval instead; approvers decide the review statuses.")
        campaign = campaign_transition(campaign=campaign, to_status=status, actor=user)
    return campaign


@transaction.atomic
def campaign_transition(
    *, campaign: Campaign, to_status: str, actor: User | None, note: str = "", check_role: bool = True
) -> Campaign:
    """Move the campaign along TRANSITIONS (Conflict otherwise), logging the change in the same transaction."""
    if check_role and actor is not None:
        policy_require(user=actor, workspace=campaign.workspace, action="campaigns.edit")
    if to_status not in Status.values:
        raise Conflict(f"Unknown status “{to_status}”.")
    previous = campaign.status
    if to_status not in TRANSITIONS[previous]:
        raise Conflict(f"A campaign cannot go from {previous} to {to_status}.")
    if to_status == Status.SCHEDULED and not campaign.starts_at:
        raise Conflict("Set a start date before scheduling the campaign.")
    now = timezone.now()
    campaign.status = to_status
    fields = ["status", "updated_at"]
    if to_status == Status.IN_REVIEW:
        campaign.submitted_at = now
        fields.append("submitted_at")
    if to_status in (Status.APPROVED, Status.REJECTED) and previous == Status.IN_REVIEW:
        campaign.decided_at = now
        fields.append("decided_at")
    if to_status == Status.ACTIVE and campaign.audience_id:  # launch: keep who the campaign was aimed at
        campaign.audience_snapshot = audience_launch_snapshot(audience=campaign.audience)
        fields.append("audience_snapshot")
    campaign.save(update_fields=fields)
    if previous == Status.IN_REVIEW and to_status == Status.DRAFT:  # withdrawn: its open workflow ends here
        open_workflows = ApprovalWorkflow.objects.filter(campaign=campaign, status=ApprovalWorkflow.Status.PENDING)
        ApprovalStep.objects.filter(
            workflow__in=open_workflows, status__in=[ApprovalStep.Status.WAITING, ApprovalStep.Status.PENDING]
        ).update(status=ApprovalStep.Status.SKIPPED, updated_at=now)
        open_workflows.update(status=ApprovalWorkflow.Status.CANCELLED, finished_at=now, updated_at=now)
    who = actor.full_name if actor else "The system"
    activity_record(
        workspace=campaign.workspace,
        campaign=campaign,
        actor=actor,
        verb="status",
        message=f"{who} moved the campaign from {label(previous).lower()} to {label(to_status).lower()}."
        f"{(' ' + note) if note else ''}"[:1000],
        previous=previous,
        status=to_status,
    )
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign, user: User) -> None:
    """Delete a campaign that is not under review or live (409 otherwise, also when a submit just won the race)."""
    policy_require(user=user, workspace=campaign.workspace, action="campaigns.edit")
    campaign = campaign_locked(campaign)
    if campaign.status not in (Status.DRAFT, Status.REJECTED, Status.COMPLETED):
        raise Conflict(f"A campaign that is {campaign.get_status_display().lower()} cannot be deleted.")
    notification_delete_for_subject(subject=campaign_subject(campaign))
    campaign.delete()
