"""Alert rules (DESIGN §10), evaluated each minute after sampling (monitoring.tasks).

Each rule returns the subjects breaching it now, with a message and the figure. An alert opens once per rule and
subject (the partial unique constraint makes a second open row impossible), notifies staff (and the workspace's
owners and admins when it concerns one workspace) in the app and by e-mail, stays open while the breach lasts,
and is resolved on the first evaluation that no longer finds it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import Membership, Notification, User, Workspace
from accounts.notifications import notification_create
from accounts.staff import OPS, SUPERADMIN

from .metrics import failed_logins_count
from .models import Alert, MetricSample, WorkspaceBudget


@dataclass(frozen=True)
class Breach:
    subject: str
    message: str
    value: float
    workspace_id: int | None = None


def error_rate_breaches(now: datetime) -> list[Breach]:
    """More than ALERT_ERROR_RATE of the requests of the last ALERT_WINDOW_MINUTES answered 5xx (with at least
    ALERT_ERROR_MIN_COUNT errors, so three requests and one error at night is no spike)."""
    since = now - timedelta(minutes=settings.ALERT_WINDOW_MINUTES)
    totals = dict(
        MetricSample.objects.filter(minute__gte=since, name__in=["http_requests", "http_errors"])
        .values_list("name")
        .annotate(total=Sum("value"))
    )
    requests, errors = totals.get("http_requests", 0), totals.get("http_errors", 0)
    if not requests or errors < settings.ALERT_ERROR_MIN_COUNT or errors / requests <= settings.ALERT_ERROR_RATE:
        return []
    share = errors / requests
    return [
        Breach("site", f"{share:.0%} of requests failed with a server error ({errors:.0f} of {requests:.0f}).", share)
    ]


def provider_failure_breaches(now: datetime) -> list[Breach]:
    """A provider failed ALERT_PROVIDER_FAILURES times or more in the window, and on at least half its calls."""
    from ai.models import ProviderCall

    since = now - timedelta(minutes=settings.ALERT_WINDOW_MINUTES)
    failed = ~Q(status__in=[ProviderCall.Status.OK, ProviderCall.Status.CANCELLED])
    rows = (
        ProviderCall.objects.filter(created_at__gte=since)
        .values("provider")
        .annotate(calls=Count("id"), failures=Count("id", filter=failed))
    )
    return [
        Breach(
            f"provider:{row['provider']}",
            f"{row['provider']} failed {row['failures']} of {row['calls']} calls in the last "
            f"{settings.ALERT_WINDOW_MINUTES} minutes.",
            row["failures"],
        )
        for row in rows
        if row["failures"] >= settings.ALERT_PROVIDER_FAILURES and row["failures"] * 2 >= row["calls"]
    ]


def cost_budget_breaches(now: datetime) -> list[Breach]:
    """A workspace's AI cost this calendar month (UTC) is over its WorkspaceBudget."""
    from ai.models import ProviderCall

    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    budgets = {budget.workspace_id: budget for budget in WorkspaceBudget.objects.select_related("workspace")}
    if not budgets:
        return []
    spent = (
        ProviderCall.objects.filter(workspace_id__in=budgets, created_at__gte=month)
        .values("workspace_id")
        .annotate(total=Sum("cost"))
    )
    breaches = []
    for row in spent:
        budget = budgets[row["workspace_id"]]
        if row["total"] and row["total"] > budget.monthly_cost_limit:
            breaches.append(
                Breach(
                    f"workspace:{budget.workspace_id}",
                    f"{budget.workspace.name} spent ${row['total']:.2f} on AI this month, over its "
                    f"${budget.monthly_cost_limit:.2f} budget.",
                    float(row["total"]),
                    budget.workspace_id,
                )
            )
    return breaches


def failed_login_breaches(now: datetime) -> list[Breach]:
    """ALERT_FAILED_LOGINS failed sign-ins or more across the site in the window (guessing or stuffing)."""
    count = failed_logins_count(since=now - timedelta(minutes=settings.ALERT_WINDOW_MINUTES))
    if count < settings.ALERT_FAILED_LOGINS:
        return []
    return [Breach("site", f"{count} failed sign-ins in the last {settings.ALERT_WINDOW_MINUTES} minutes.", count)]


def ingest_stopped_breaches(now: datetime) -> list[Breach]:
    """A push source (its site sends to us) that sent events in the last 7 days, so it usually sends, and none
    for INGEST_SILENCE_MINUTES."""
    from integrations.models import DataSource

    silent = DataSource.objects.filter(
        source_type__in=DataSource.PUSH_TYPES,
        status=DataSource.Status.ACTIVE,
        is_dummy=False,
        last_event_at__gte=now - timedelta(days=7),
        last_event_at__lt=now - timedelta(minutes=settings.INGEST_SILENCE_MINUTES),
    )
    return [
        Breach(
            f"source:{source.id}",
            f"{source.name} has sent no events since {source.last_event_at:%Y-%m-%d %H:%M} UTC.",
            (now - source.last_event_at).total_seconds() / 60,
            source.workspace_id,
        )
        for source in silent
    ]


RULES = {
    Alert.Rule.ERROR_RATE: error_rate_breaches,
    Alert.Rule.PROVIDER_FAILURES: provider_failure_breaches,
    Alert.Rule.COST_BUDGET: cost_budget_breaches,
    Alert.Rule.FAILED_LOGINS: failed_login_breaches,
    Alert.Rule.INGEST_STOPPED: ingest_stopped_breaches,
}


def _recipients(workspace_id: int | None) -> list[User]:
    """Who runs the site (the ops and superadmin staff roles, and superusers), plus the workspace's owners and
    admins when the alert concerns one workspace."""
    staff = list(
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=[OPS, SUPERADMIN]))
        .distinct()
    )
    if workspace_id is None:
        return staff
    managers = User.objects.filter(
        is_active=True,
        memberships__workspace_id=workspace_id,
        memberships__role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
    )
    return [*staff, *managers]


def _alert_open(rule: str, breach: Breach, now: datetime) -> Alert | None:
    """Open the alert and notify; None when one is open already (then only its figures move)."""
    open_alert = Alert.objects.filter(rule=rule, subject=breach.subject, status=Alert.Status.OPEN).first()
    if open_alert:
        open_alert.last_seen_at, open_alert.value, open_alert.message = now, breach.value, breach.message
        open_alert.save(update_fields=["last_seen_at", "value", "message", "updated_at"])
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule,
                subject=breach.subject,
                workspace_id=breach.workspace_id,
                message=breach.message,
                value=breach.value,
                last_seen_at=now,
            )
            notification_create(
                users=_recipients(breach.workspace_id),
                kind="alert",
                message=f"{Alert.Rule(rule).label}: {breach.message}",
                workspace=Workspace.objects.filter(id=breach.workspace_id).first() if breach.workspace_id else None,
                url="/admin/monitoring/",
                subject=f"alert:{alert.id}",
                level=Notification.Level.WARNING,
            )
    except IntegrityError:  # another evaluation opened it meanwhile: one open alert per rule and subject
        return None
    return alert


def alerts_evaluate(*, now: datetime | None = None) -> dict[str, int]:
    """Run every rule: open (and notify) new breaches, keep open ones current, resolve those that cleared."""
    now = now or timezone.now()
    opened = resolved = 0
    for rule, breaches_of in RULES.items():
        breaches = breaches_of(now)
        for breach in breaches:
            opened += _alert_open(rule, breach, now) is not None
        resolved += (
            Alert.objects.filter(rule=rule, status=Alert.Status.OPEN)
            .exclude(subject__in=[breach.subject for breach in breaches])
            .update(status=Alert.Status.RESOLVED, resolved_at=now, updated_at=now)
        )
    return {"opened": opened, "resolved": resolved}
