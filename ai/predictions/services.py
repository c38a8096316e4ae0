"""Prediction writes started by people: queue a training job and activate a version (admins), and queue the
rescoring of customers whose events were just stored. The work itself runs in `jobs.py` (Celery, `tasks.py`)."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from accounts.models import User, Workspace
from accounts.policy import policy_require
from accounts.selectors import workspace_current_for_user
from marketing_ai.celery import QUEUE_UNAVAILABLE, task_publish, task_publish_on_commit
from marketing_ai.errors import Conflict

from .jobs import prediction_model_make_active
from .models import PredictionModel
from .tasks import prediction_model_train_task, predictions_score_customers_task

logger = logging.getLogger(__name__)
RUNNING = (PredictionModel.Status.QUEUED, PredictionModel.Status.TRAINING)


@transaction.atomic
def prediction_model_train_start(*, user: User, kind: str = PredictionModel.Kind.CUSTOMER) -> PredictionModel:
    """Queue a training job for the user's current workspace (admins); 409 while one is queued or training."""
    workspace = workspace_current_for_user(user=user)
    policy_require(user=user, workspace=workspace, action="models.train")
    Workspace.objects.select_for_update().filter(id=workspace.id).first()  # one start at a time per workspace
    if PredictionModel.objects.filter(workspace=workspace, status__in=RUNNING).exists():
        raise Conflict("A model is already being trained for this workspace.")
    version = (PredictionModel.objects.filter(workspace=workspace, kind=kind).aggregate(v=Max("version"))["v"] or 0) + 1
    model = PredictionModel.objects.create(workspace=workspace, kind=kind, version=version, created_by=user)

    def unqueued():
        PredictionModel.objects.filter(id=model.id, status=PredictionModel.Status.QUEUED).update(
            status=PredictionModel.Status.FAILED, message=QUEUE_UNAVAILABLE
        )

    task_publish_on_commit(prediction_model_train_task, model.id, on_unavailable=unqueued)
    return model


def prediction_model_activate(*, model: PredictionModel, user: User | None) -> PredictionModel:
    """Make this trained version the active one (workspace admins, or staff in the Django admin with `user=None`;
    roll back or forward) and rescore every customer."""
    policy_require(user=user, workspace=model.workspace_id, action="models.train")
    if model.status != PredictionModel.Status.READY:
        raise Conflict("Only a trained version can be activated.")
    return prediction_model_make_active(model=model)


def events_stored_receiver(sender, *, workspace_id: int, customer_keys: set[str], **kwargs) -> None:
    """New events of a few customers: rescore them after the batch commits, if the workspace has an active model."""
    from integrations.models import Customer

    if len(customer_keys) > settings.PREDICTIONS_RESCORE_MAX_CUSTOMERS:
        return
    if not PredictionModel.objects.filter(workspace_id=workspace_id, is_active=True).exists():
        return
    ids = list(
        Customer.objects.filter(workspace_id=workspace_id, customer_key__in=customer_keys).values_list("id", flat=True)
    )

    def publish():
        try:
            task_publish(predictions_score_customers_task, workspace_id, ids)
        except Exception:  # never fail the request that stored the events: the nightly rescoring catches up
            logger.warning("Rescoring %s customers after new events failed; the nightly rescoring will", len(ids))

    transaction.on_commit(publish)
