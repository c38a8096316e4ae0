"""Every read of the integrations app, scoped to the actor's current workspace (another's object is a 404)."""

from datetime import datetime

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import User
from accounts.policy import policy_allows
from accounts.selectors import workspace_current_for_user
from marketing_ai.db import rows_fetched
from marketing_ai.errors import ApplicationError, NotFound

from .models import Customer, DataSource, Event, EventRollup, IdentityMerge, SyncJob
from .pipeline.schema import Rejection, parse_time

MERGES_SHOWN = 50


def data_source_list_for_user(*, user: User, with_counts: bool = False) -> QuerySet[DataSource]:
    workspace = workspace_current_for_user(user=user)
    return data_source_list_for_workspace(workspace=workspace, with_counts=with_counts)


def data_source_list_for_workspace(*, workspace, with_counts: bool = False) -> QuerySet[DataSource]:
    """The workspace's sources, newest first; `with_counts` adds `events_total` (events stored, from the rollups)."""
    sources = DataSource.objects.filter(workspace=workspace).order_by("-created_at", "-id")
    if with_counts:  # from the day totals: counting a large source's events would scan them all
        totals = (
            EventRollup.objects.filter(workspace=workspace, source=OuterRef("pk"))
            .order_by()
            .values("source")
            .annotate(total=Sum("events"))
            .values("total")
        )
        sources = sources.annotate(events_total=Coalesce(Subquery(totals), 0))
    return sources


def data_source_get_for_user(*, user: User, source_id: int) -> DataSource:
    source = data_source_list_for_user(user=user).filter(id=source_id).first()
    if source is None:
        raise NotFound("Data source not found.")
    return source


_SOURCE_SUMMARIES_SQL = (
    f"SELECT id, name, source_type, status FROM {DataSource._meta.db_table} WHERE workspace_id = %s ORDER BY id"
)


def data_source_summaries_for_workspace(*, workspace_id: int) -> list[dict]:
    """The workspace's sources as `{id, name, type, status}`, oldest first (the chat's context of every answer).

    Plain SQL on this app's own table: see `rows_fetched` for why the answer's hot reads skip the ORM.
    """
    rows = rows_fetched(_SOURCE_SUMMARIES_SQL, [workspace_id])
    return [{"id": id_, "name": name, "type": kind, "status": status} for id_, name, kind, status in rows]


def data_source_by_write_key(*, write_key: str) -> DataSource | None:
    """The push source (gtm / facebook_pixel / segment) that owns this write key, or None."""
    return (
        DataSource.objects.filter(write_key=write_key, source_type__in=DataSource.PUSH_TYPES)
        .only("id", "workspace_id", "source_type", "status", "config")
        .first()
    )


def meta_connection_for_workspace(*, workspace) -> DataSource | None:
    """The newest active Meta Pixel source of the workspace holding a Meta access token (audiences, publishing)."""
    sources = DataSource.objects.filter(
        workspace=workspace, source_type=DataSource.SourceType.FACEBOOK_PIXEL, is_dummy=False
    ).exclude(status=DataSource.Status.PAUSED)
    return next((source for source in sources.order_by("-created_at") if source.secrets.get("accessToken")), None)


def job_get_for_user(*, user: User, job_id: int) -> SyncJob:
    workspace = workspace_current_for_user(user=user)
    job = SyncJob.objects.filter(workspace=workspace, id=job_id).select_related("source").first()
    if job is None:
        raise NotFound("Job not found.")
    return job


def job_control_allowed(*, user: User, workspace_id: int) -> bool:
    """Whether the user may start, retry and cancel jobs in the workspace (editors and up, DESIGN §3)."""
    return policy_allows(user=user, workspace=workspace_id, action="jobs.run")


def job_list_for_source(*, source: DataSource, limit: int = 10) -> QuerySet[SyncJob]:
    return SyncJob.objects.filter(source=source).order_by("-created_at")[:limit]


def _moment(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except Rejection as exc:
        raise ApplicationError("Some fields are invalid.", errors={field: ["Give an ISO 8601 date or time."]}) from exc


def event_list_for_user(
    *,
    user: User,
    source: str | None = None,
    event_type: str | None = None,
    customer: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> QuerySet[Event]:
    """The workspace's events, newest first, filtered by source id, type, customer key, and a time range."""
    workspace = workspace_current_for_user(user=user)
    events = Event.objects.filter(workspace=workspace).select_related("source").order_by("-occurred_at", "-id")
    if source:
        if not str(source).isdigit():
            raise ApplicationError("Some fields are invalid.", errors={"source": ["Give a data source id."]})
        if not DataSource.objects.filter(workspace=workspace, id=int(source)).exists():
            raise NotFound("Data source not found.")
        events = events.filter(source_id=int(source))
    if event_type:
        if event_type not in Event.EventType.values:
            raise ApplicationError("Some fields are invalid.", errors={"type": ["Unknown event type."]})
        events = events.filter(event_type=event_type)
    if customer:
        events = events.filter(customer_key=customer)
    start, end = _moment(date_from, "from"), _moment(date_to, "to")
    if start and end and end < start:
        raise ApplicationError("Some fields are invalid.", errors={"to": ["`to` must not be before `from`."]})
    if start:
        events = events.filter(occurred_at__gte=start)
    if end:
        events = events.filter(occurred_at__lte=end)
    return events


def customer_list_for_user(*, user: User, search: str | None = None) -> QuerySet[Customer]:
    workspace = workspace_current_for_user(user=user)
    customers = Customer.objects.filter(workspace=workspace).order_by("-last_seen_at", "-id")
    if search:
        customers = customers.filter(customer_key__icontains=search) | customers.filter(email__icontains=search)
    return customers


def customer_get_for_user(*, user: User, customer_id: int) -> Customer:
    customer = customer_list_for_user(user=user).filter(id=customer_id).first()
    if customer is None:
        raise NotFound("Customer not found.")
    return customer


def customer_recent_events(*, customer: Customer, limit: int = 20) -> list[Event]:
    return list(
        Event.objects.filter(workspace_id=customer.workspace_id, customer_key=customer.customer_key)
        .select_related("source")
        .order_by("-occurred_at")[:limit]
    )


def identity_merges_for_customer(*, customer: Customer) -> list[IdentityMerge]:
    """The joins into this customer and the undone joins that separated it from another, newest first, each
    with `events` (events it re-attributed that still are)."""
    joined_here = Q(customer_key=customer.customer_key) | Q(
        kind=IdentityMerge.Kind.CUSTOMER, value=customer.customer_key
    )
    return list(
        IdentityMerge.objects.filter(joined_here, workspace_id=customer.workspace_id)
        .annotate(events=Count("stitched_events"))
        .select_related("merged_by", "undone_by")
        .order_by("-created_at", "-id")[:MERGES_SHOWN]
    )


def identity_merge_get_for_user(*, user: User, merge_id: int) -> IdentityMerge:
    workspace = workspace_current_for_user(user=user)
    merge = IdentityMerge.objects.filter(workspace=workspace, id=merge_id).first()
    if merge is None:
        raise NotFound("Identity merge not found.")
    return merge
