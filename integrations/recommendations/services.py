"""Running refreshes of the product recommendations: on a schedule, on demand, after commit announced live."""

import logging
import time

from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.policy import policy_require
from integrations.models import RecommendationState
from marketing_ai.celery import QUEUE_UNAVAILABLE, task_publish_on_commit
from marketing_ai.live import live_publish

from .refresh import tables_refresh

logger = logging.getLogger(__name__)


def recommendations_refresh(*, workspace_id: int, full: bool = False) -> RecommendationState:
    """Bring the workspace's recommendations up to date (incrementally unless `full`); one at a time per
    workspace. Announces `recommendations` to its open pages after commit; a failure is recorded on the state."""
    with transaction.atomic():
        state, _ = RecommendationState.objects.select_for_update().get_or_create(workspace_id=workspace_id)
        started, clock = timezone.now(), time.monotonic()
        try:
            tables_refresh(state=state, full=full)
        except DatabaseError as exc:
            logger.exception("recommendations refresh of workspace %s failed", workspace_id)
            state.status, state.error = RecommendationState.Status.FAILED, str(exc)[:500]
            state.save(update_fields=["status", "error", "updated_at"])
            return state
        state.status, state.error = RecommendationState.Status.SUCCEEDED, ""
        state.started_at, state.refreshed_at = started, timezone.now()
        state.duration_ms = int((time.monotonic() - clock) * 1000)
        state.save()
        live_publish(kind="recommendations", workspace_id=workspace_id, data=recommendation_summary(state))
    return state


def recommendation_summary(state: RecommendationState) -> dict:
    return {
        "status": state.status,
        "mode": state.mode,
        "refreshedAt": state.refreshed_at.isoformat() if state.refreshed_at else None,
        "durationMs": state.duration_ms,
        "customersChanged": state.customers_changed,
        "products": state.products,
        "pairs": state.pairs,
    }


def recommendations_refresh_request(*, workspace: Workspace, user: User, full: bool = False) -> RecommendationState:
    """Queue a refresh of the workspace's recommendations (editors and up); the state shows it queued until it
    runs. ServiceUnavailable (503) when the queue is unreachable, with the state marked failed."""
    from integrations.tasks import recommendations_refresh_task

    policy_require(user=user, workspace=workspace, action="product_recommendations.refresh")
    with transaction.atomic():
        state, _ = RecommendationState.objects.select_for_update().get_or_create(workspace_id=workspace.id)
        state.status, state.error = RecommendationState.Status.QUEUED, ""
        state.save(update_fields=["status", "error", "updated_at"])

        def unqueued():
            RecommendationState.objects.filter(workspace_id=workspace.id).update(
                status=RecommendationState.Status.FAILED, error=QUEUE_UNAVAILABLE, updated_at=timezone.now()
            )

        task_publish_on_commit(recommendations_refresh_task, workspace.id, full, on_unavailable=unqueued)
    return state
