"""Audiences out: push a segment's or a saved audience's customers to a Meta Custom Audience, as a job with counts
and a clear error.

The Meta connection is the workspace's Meta Pixel source holding an access token (and, to create audiences,
an ad account id). Rows are e-mail, first and last name, each SHA-256 of Meta's normalized value; customers
known only by a hashed e-mail go as that hash; customers without either are counted as skipped.
"""

import logging
import secrets
from collections.abc import Iterator
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.policy import policy_require
from accounts.selectors import workspace_current_for_user
from marketing_ai.celery import QUEUE_UNAVAILABLE, task_publish_on_commit
from marketing_ai.errors import ApplicationError, NotFound

from .adapters.meta_audiences import custom_audience_create, custom_audience_upload
from .adapters.meta_graph import graph_api, meta_hash
from .analysis.audiences import EXPORT_BATCH, segment_customer_list, segment_rule_get
from .audiences.models import Audience
from .models import AudiencePush, Customer
from .selectors import meta_connection_for_workspace

logger = logging.getLogger(__name__)


def audience_push_list_for_user(
    *, user: User, segment: str | None = None, audience_id: int | None = None
) -> QuerySet[AudiencePush]:
    pushes = AudiencePush.objects.filter(workspace=workspace_current_for_user(user=user)).select_related("audience")
    if audience_id is not None:
        pushes = pushes.filter(audience_id=audience_id)
    return pushes.filter(segment=segment) if segment else pushes


def audience_push_get_for_user(*, user: User, push_id: int) -> AudiencePush:
    push = audience_push_list_for_user(user=user).filter(id=push_id).first()
    if push is None:
        raise NotFound("Audience push not found.")
    return push


def _filters_json(filters: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in filters.items() if value}


@transaction.atomic
def audience_push_start(
    *,
    user: User,
    segment: str = "",
    audience: Audience | None = None,
    filters: dict | None = None,
    platform_audience_id: str = "",
    mode: str = AudiencePush.Mode.ADD,
) -> AudiencePush:
    """Queue a push of the segment or saved audience (editors and up) to an existing Meta audience, or to a new
    one in the ad account. A saved audience goes with its members at its last refresh."""
    workspace = workspace_current_for_user(user=user)
    policy_require(user=user, workspace=workspace, action="audiences.push")
    if audience is not None:
        if audience.workspace_id != workspace.id:
            raise NotFound("Audience not found.")
        segment, filters = "", {}
    else:
        segment_rule_get(name=segment)
    connection = meta_connection_for_workspace(workspace=workspace)
    if connection is None:
        raise ApplicationError("Connect Meta first: add a Meta Pixel source with an access token.")
    audience_id = (platform_audience_id or "").strip()
    if audience_id and not audience_id.isdigit():
        raise ApplicationError("Some fields are invalid.", errors={"audienceId": ["A Meta audience id is a number."]})
    if not audience_id and not connection.config.get("adAccountId"):
        raise ApplicationError(
            "Some fields are invalid.",
            errors={"audienceId": ["Give an audience id, or save the ad account id on the Meta source."]},
        )
    if mode not in AudiencePush.Mode.values:
        raise ApplicationError("Some fields are invalid.", errors={"mode": ["Use add or replace."]})
    push = AudiencePush(
        workspace=workspace,
        connection=connection,
        segment=segment,
        audience=audience,
        filters=_filters_json(filters or {}),
        mode=mode,
        platform_audience_id=audience_id,
        created_by=user,
    )
    push.full_clean()
    push.save()
    from .tasks import audience_push_task

    def unqueued():
        AudiencePush.objects.filter(id=push.id, status=AudiencePush.Status.QUEUED).update(
            status=AudiencePush.Status.FAILED, error=QUEUE_UNAVAILABLE, updated_at=timezone.now()
        )

    task_publish_on_commit(audience_push_task, push.id, on_unavailable=unqueued)
    return push


def _push_customer_keys(push: AudiencePush) -> QuerySet:
    """The customer keys a push uploads: the saved audience's members, or the segment's customers of its range."""
    if push.audience_id:
        from .audiences.selectors import audience_customers

        return audience_customers(audience=push.audience).values_list("customer_key", flat=True)
    rows = segment_customer_list(workspace=push.workspace, name=push.segment, **_filter_arguments(push.filters))
    return rows.values_list("customer_key", flat=True)


def audience_rows(*, workspace: Workspace, keys: QuerySet) -> Iterator[tuple[list[list[str]], int]]:
    """The customers of these keys as hashed rows in export batches, with the count left out per batch."""
    batch: list[str] = []
    for row in keys.iterator(chunk_size=EXPORT_BATCH):
        batch.append(row)
        if len(batch) == EXPORT_BATCH:
            yield _hashed_profiles(workspace, batch)
            batch = []
    if batch:
        yield _hashed_profiles(workspace, batch)


def customer_hashed_row(*, email: str, email_sha256: str, first_name: str, last_name: str) -> list[str] | None:
    """[EMAIL, FN, LN] as Meta matches them: SHA-256 of the normalized values (a hash-only customer goes as its
    stored hash); None without an e-mail Meta could match."""
    email_hashed = meta_hash("EMAIL", email) if email.strip() else email_sha256.strip().lower()
    if len(email_hashed) != 64:
        return None
    return [email_hashed, meta_hash("FN", first_name), meta_hash("LN", last_name)]


def _hashed_profiles(workspace: Workspace, keys: list[str]) -> tuple[list[list[str]], int]:
    profiles = Customer.objects.filter(workspace=workspace, customer_key__in=keys).values_list(
        "email", "email_sha256", "first_name", "last_name"
    )
    hashed = []
    for email, email_sha256, first_name, last_name in profiles:
        row = customer_hashed_row(email=email, email_sha256=email_sha256, first_name=first_name, last_name=last_name)
        if row is not None:
            hashed.append(row)
    return hashed, len(keys) - len(hashed)


def _upload_batches(workspace: Workspace, push: AudiencePush) -> Iterator[list[list[str]]]:
    """Rows in Meta's batches of `META_AUDIENCE_BATCH_SIZE`, de-duplicated; counts skipped members on the push."""
    size, pending, seen = settings.META_AUDIENCE_BATCH_SIZE, [], set()
    for hashed, skipped in audience_rows(workspace=workspace, keys=_push_customer_keys(push)):
        push.skipped += skipped
        for row in hashed:
            if row[0] not in seen:
                seen.add(row[0])
                pending.append(row)
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


def audience_push_run(*, push: AudiencePush) -> AudiencePush:
    """Upload every batch in one session (replace: one `usersreplace` session); records counts or the error."""
    push.status, push.started_at, push.error = AudiencePush.Status.RUNNING, timezone.now(), ""
    push.sent = push.received = push.invalid = push.batches = push.skipped = 0
    push.save(update_fields=["status", "started_at", "error", "sent", "received", "invalid", "batches", "skipped"])
    try:
        _push_upload(push)
    except ApplicationError as error:
        push.status, push.error = AudiencePush.Status.FAILED, error.message[:500]
    else:
        push.status = AudiencePush.Status.SUCCEEDED
    push.finished_at = timezone.now()
    push.save()
    return push


def _push_upload(push: AudiencePush) -> None:
    connection = push.connection
    if connection is None or not connection.secrets.get("accessToken"):
        raise ApplicationError("The Meta source of this push is gone or has no access token.")
    api = graph_api(access_token=connection.secrets["accessToken"])
    if not push.platform_audience_id:
        if push.audience_id:
            label, what = push.audience.name, f"audience {push.audience.name}"
        else:
            label, what = push.segment.replace("_", " ").capitalize(), f"segment {push.segment}"
        push.platform_audience_id = custom_audience_create(
            api=api,
            ad_account_id=connection.config["adAccountId"],
            name=f"{label} ({push.workspace.name})",
            description=f"Marketing AI {what}, pushed {timezone.now():%Y-%m-%d}.",
        )
        push.save(update_fields=["platform_audience_id", "updated_at"])
    estimated = _push_customer_keys(push).count()
    push.session_id = secrets.randbelow(2**62) + 1
    batches = _upload_batches(push.workspace, push)
    batch = next(batches, None)
    sequence = 0
    while batch is not None:
        following = next(batches, None)  # one batch ahead: Meta wants the last one flagged
        sequence += 1
        session = {
            "session_id": push.session_id,
            "batch_seq": sequence,
            "last_batch_flag": following is None,
            "estimated_num_total": max(estimated, push.sent + len(batch)),
        }
        counts = custom_audience_upload(
            api=api,
            audience_id=push.platform_audience_id,
            rows=batch,
            session=session,
            replace=push.mode == AudiencePush.Mode.REPLACE,
        )
        push.sent += len(batch)
        push.received += counts["received"]
        push.invalid += counts["invalid"]
        push.batches = sequence
        push.total = push.sent
        push.save(update_fields=["session_id", "sent", "received", "invalid", "batches", "total", "updated_at"])
        batch = following
    if sequence == 0:
        what = "audience" if push.audience_id else "segment"
        raise ApplicationError(f"Nobody in this {what} has an e-mail address Meta could match.")


def _filter_arguments(filters: dict) -> dict:
    return {
        "date_from": date.fromisoformat(filters["from"]) if filters.get("from") else None,
        "date_to": date.fromisoformat(filters["to"]) if filters.get("to") else None,
        "source_id": filters.get("source"),
    }
