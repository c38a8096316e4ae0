"""Campaign reads, always scoped to the user's current workspace (another workspace's object is NotFound)."""

from datetime import date

from django.db.models import Count, F, Prefetch, QuerySet, Sum

from accounts.models import User, Workspace
from accounts.selectors import workspace_current_for_user
from marketing_ai.db import rows_fetched
from marketing_ai.errors import NotFound

from .models import (
    ActivityLog,
    ApprovalStep,
    ApprovalWorkflow,
    BrandAsset,
    BrandProfile,
    Campaign,
    CampaignRecommendation,
    ContentJob,
    ContentVariant,
    PerformanceMetric,
)

_RECENT_SUMMARIES_SQL = (
    f"SELECT id, name, status, segment FROM {Campaign._meta.db_table} WHERE workspace_id = %s "
    "ORDER BY created_at DESC, id DESC LIMIT %s"
)


def campaign_summaries_recent(*, workspace_id: int, limit: int = 10) -> list[dict]:
    """The workspace's newest campaigns as `{id, name, status, segment}` (the chat's context of every answer).

    Plain SQL on this app's own table: see `rows_fetched` for why the answer's hot reads skip the ORM.
    """
    rows = rows_fetched(_RECENT_SUMMARIES_SQL, [workspace_id, limit])
    return [{"id": id_, "name": name, "status": status, "segment": segment} for id_, name, status, segment in rows]


def campaign_list_for_user(*, user: User, status: str | None = None) -> QuerySet[Campaign]:
    """The current workspace's campaigns, newest first, optionally of one status."""
    campaigns = Campaign.objects.filter(workspace=workspace_current_for_user(user=user)).select_related("created_by")
    if status:
        campaigns = campaigns.filter(status=status)
    return campaigns


def campaign_counts_by_status(*, campaigns: QuerySet[Campaign]) -> dict[str, int]:
    """{status: count} for a campaign queryset, in one query."""
    rows = campaigns.order_by().values_list("status").annotate(count=Count("id"))
    return dict(rows)


def campaign_get_for_user(*, user: User, campaign_id: int) -> Campaign:
    """One campaign of the current workspace, or NotFound."""
    campaign = campaign_list_for_user(user=user).select_related("recommendation", "workspace").filter(pk=campaign_id)
    found = campaign.first()
    if found is None:
        raise NotFound("Campaign not found.")
    return found


def workspace_member_get(*, workspace_id: int, user_id: int) -> User | None:
    """The user with this id if they belong to the workspace, else None."""
    return User.objects.filter(pk=user_id, memberships__workspace_id=workspace_id).first()


def recommendation_get_for_user(*, user: User, recommendation_id: int) -> CampaignRecommendation:
    """One stored recommendation of the current workspace, or NotFound."""
    found = (
        CampaignRecommendation.objects.filter(workspace=workspace_current_for_user(user=user), pk=recommendation_id)
        .select_related("workspace")
        .first()
    )
    if found is None:
        raise NotFound("Recommendation not found.")
    return found


def recommendation_list_unused_for_user(*, user: User, limit: int = 6) -> list[CampaignRecommendation]:
    """The newest recommendations of the current workspace that no campaign was made from yet."""
    workspace = workspace_current_for_user(user=user)
    return list(CampaignRecommendation.objects.filter(workspace=workspace, campaigns__isnull=True)[:limit])


def variant_list_for_campaign(*, campaign: Campaign, current_only: bool = True) -> QuerySet[ContentVariant]:
    variants = campaign.variants.select_related("created_by").order_by("platform", "-created_at")
    return variants.filter(is_current=True) if current_only else variants


def content_job_get_for_user(*, user: User, job_id: int) -> ContentJob:
    found = ContentJob.objects.filter(workspace=workspace_current_for_user(user=user), pk=job_id).first()
    if found is None:
        raise NotFound("Job not found.")
    return found


def step_get_for_user(*, user: User, step_id: int) -> ApprovalStep:
    """A step of a campaign workflow in the current workspace, or NotFound."""
    found = (
        ApprovalStep.objects.filter(
            workflow__workspace=workspace_current_for_user(user=user), workflow__campaign__isnull=False, pk=step_id
        )
        .select_related("workflow__campaign", "approver_user")
        .first()
    )
    if found is None:
        raise NotFound("Approval step not found.")
    return found


def workflow_list_for_campaign(*, campaign: Campaign) -> QuerySet[ApprovalWorkflow]:
    """The campaign's workflows, newest first, with steps, approvers and decisions."""
    steps = ApprovalStep.objects.select_related("approver_user", "decided_by").prefetch_related(
        "decisions__actor", "decisions__delegate_to"
    )
    return campaign.workflows.select_related("submitted_by").prefetch_related(Prefetch("steps", queryset=steps))


def activity_list_for_campaign(*, campaign: Campaign, limit: int = 50) -> list[ActivityLog]:
    return list(campaign.activity.select_related("actor")[:limit])


def brand_profile_get_for_workspace(*, workspace: Workspace) -> BrandProfile:
    """The workspace's brand profile (an empty unsaved one when none exists yet)."""
    return BrandProfile.objects.filter(workspace=workspace).first() or BrandProfile(workspace=workspace)


def brand_asset_list_for_workspace(*, workspace: Workspace) -> QuerySet[BrandAsset]:
    return BrandAsset.objects.filter(workspace=workspace)


def metric_list_for_campaign(*, campaign: Campaign) -> QuerySet[PerformanceMetric]:
    return campaign.metrics.select_related("variant").order_by("date", "platform")


def brand_profile_exists(*, workspace) -> bool:
    """Whether the workspace has brand rules that content can be scored against."""
    return BrandProfile.objects.filter(workspace=workspace).exists()


def campaign_top_for_workspace(*, workspace: Workspace, date_from: date, date_to: date, limit: int = 5) -> list[dict]:
    """The campaigns with the most conversions (then clicks) in the period, with their totals and rates."""
    rows = (
        PerformanceMetric.objects.filter(workspace=workspace, date__gte=date_from, date__lte=date_to)
        .values("campaign_id", name=F("campaign__name"), status=F("campaign__status"))
        .annotate(
            impressions=Sum("impressions"), clicks=Sum("clicks"), conversions=Sum("conversions"), spend=Sum("spend")
        )
        .order_by("-conversions", "-clicks", "campaign_id")[:limit]
    )
    return [
        {
            **row,
            "ctr": round(100 * row["clicks"] / row["impressions"], 2) if row["impressions"] else 0.0,
            "conversionRate": round(100 * row["conversions"] / row["clicks"], 2) if row["clicks"] else 0.0,
        }
        for row in rows
    ]


def recommendation_latest_for_workspace(*, workspace: Workspace, limit: int = 3) -> list[CampaignRecommendation]:
    """The newest AI recommendations of the workspace, with whether a campaign was made from them."""
    rows = CampaignRecommendation.objects.filter(workspace=workspace).annotate(campaign_count=Count("campaigns"))
    return list(rows.order_by("-created_at", "-id")[:limit])
