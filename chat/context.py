"""The grounding context of an answer: who asks, the workspace's sources, analysis and campaigns (DESIGN §6).

An anonymous conversation gets no workspace data at all.
"""

import logging

from django.utils import timezone

from ai.files.selectors import file_context_for_question
from ai.predictions.selectors import predictions_summary
from campaigns.selectors import campaign_summaries_recent
from integrations.analysis.selectors import analysis_overview
from integrations.selectors import data_source_summaries_for_workspace
from marketing_ai.caching import shared_cache

from .models import Conversation

logger = logging.getLogger(__name__)

CAMPAIGNS_IN_CONTEXT = 10
ANALYSIS_KEYS_LEFT_OUT = ("timeSeries",)
# The analysis summary is shared by every answer in a workspace for this long: it scans all the events of
# the last 30 days, so computing it per message would make each answer (and a burst of them) wait on it.
ANALYSIS_CACHE_SECONDS = 60


def _analysis_key(workspace) -> str:
    return f"chat-context-analysis:{workspace.id}:{timezone.now().date().isoformat()}"


def _predictions_key(workspace) -> str:
    return f"chat-context-predictions:{workspace.id}"


def _summaries(workspace) -> tuple[dict, dict]:
    """The analysis summary and the stored predictions' (model quality, likeliest buyers), each shared per
    workspace for ANALYSIS_CACHE_SECONDS; both are read from the shared cache in one round trip."""
    analysis_key, predictions_key = _analysis_key(workspace), _predictions_key(workspace)
    cached = shared_cache().get_many([analysis_key, predictions_key])
    analysis = cached.get(analysis_key)
    if analysis is None:
        analysis = _analysis_computed(workspace)
        if analysis is not None:
            shared_cache().set(analysis_key, analysis, ANALYSIS_CACHE_SECONDS)
    predictions = cached.get(predictions_key)
    if predictions is None:
        predictions = predictions_summary(workspace_id=workspace.id)
        shared_cache().set(predictions_key, predictions, ANALYSIS_CACHE_SECONDS)
    return analysis or {}, predictions


def _analysis_computed(workspace) -> dict | None:
    try:
        overview = analysis_overview(workspace=workspace)
    except Exception:  # the answer goes on without the summary rather than failing
        logger.exception("Analysis summary unavailable for workspace %s", workspace.id)
        return None
    return {key: value for key, value in overview.items() if key not in ANALYSIS_KEYS_LEFT_OUT}


def context_build(*, conversation: Conversation, question: str = "") -> dict:
    """The context dict handed to the provider router for this conversation; `question` (the message being
    answered) selects the uploaded files, and their passages, the answer may quote."""
    user, workspace = conversation.user, conversation.workspace
    if user is None or workspace is None:
        return {"anonymous": True}
    analysis, predictions = _summaries(workspace)
    context = {
        "user": {"firstName": user.first_name, "lastName": user.last_name},
        "workspace": {"id": workspace.id, "name": workspace.name},
        "sources": data_source_summaries_for_workspace(workspace_id=workspace.id),
        "analysis": analysis,
        "campaigns": campaign_summaries_recent(workspace_id=workspace.id, limit=CAMPAIGNS_IN_CONTEXT),
        "predictions": predictions,
    }
    files = file_context_for_question(workspace_id=workspace.id, question=question)
    if files:
        context["files"] = files
    return context
