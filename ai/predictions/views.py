"""The predictions page: the active model and its held-out quality, versions (train, roll back), likely buyers and
churn risks. Thin: selectors and services do the work."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.policy import policy_allows, policy_page
from accounts.selectors import workspace_current_for_user
from marketing_ai.errors import ApplicationError

from .selectors import (
    churn_risks,
    likely_buyers,
    prediction_model_active,
    prediction_model_get_for_user,
    prediction_model_list_for_user,
)
from .services import RUNNING, prediction_model_activate, prediction_model_train_start

LIST_SIZE = 15


@login_required
def predictions(request):
    workspace = workspace_current_for_user(user=request.user)
    versions = list(prediction_model_list_for_user(user=request.user)[:20])
    active = prediction_model_active(workspace_id=workspace.id)
    context = {
        "active": active,
        "head": (active.metrics.get("purchase30d") or {}) if active else {},
        "churn_head": (active.metrics.get("churnRisk") or {}) if active else {},
        "value_head": (active.metrics.get("value30d") or {}) if active else {},
        "versions": versions,
        "latest": versions[0] if versions else None,
        "training": any(version.status in RUNNING for version in versions),
        "buyers": likely_buyers(workspace_id=workspace.id, limit=LIST_SIZE) if active else [],
        "risks": churn_risks(workspace_id=workspace.id, limit=LIST_SIZE) if active else [],
        "is_admin": policy_allows(user=request.user, workspace=workspace, action="models.train"),
        "min_events": settings.PREDICTIONS_MIN_EVENTS,
    }
    return render(request, "ai/predictions.html", context)


@login_required
@require_POST
@policy_page("models.train")
def predictions_train(request):
    try:
        prediction_model_train_start(user=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Training started; this page shows the result when it is done.")
    return redirect("ai:predictions")


@login_required
@require_POST
@policy_page("models.train")
def predictions_activate(request, model_id: int):
    model = prediction_model_get_for_user(user=request.user, model_id=model_id)  # NotFound: the 404 page
    try:
        prediction_model_activate(model=model, user=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Version {model.version} is active; every customer was scored again with it.")
    return redirect("ai:predictions")
