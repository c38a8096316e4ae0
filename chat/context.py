"""The grounding context of an answer: who asks, the workspace's sources, analysis and campaigns (DESIGN §6).

An anonymous conversation gets no workspace data at all.
"""

import logging

from django.apps import apps

from .models import Conversation

logger = logging.getLogger(__name__)

CAMPAIGNS_IN_CONTEXT = 10
ANALYSIS_KEYS_LEFT_OUT = ("timeSeries",)


def _sources(workspace) -> list[dict]:
    return [
        {"id": s.id, "name": s.name, "type": s.source_type, "status": s.status}
        for s in workspace.data_sources.order_by("id")
    ]


def _analysis(workspace) -> dict:
    try:
        from integrations.analysis.selectors import analysis_overview
    except ImportError:
        return {}
    try:
        overview = analysis_overview(workspace=workspace)
    except Exception:  # the answer goes on without the summary rather than failing
        logger.exception("Analysis summary unavailable for workspace %s", workspace.id)
        return {}
    return {key: value for key, value in overview.items() if key not in ANALYSIS_KEYS_LEFT_OUT}


def _campaigns(workspace) -> list[dict]:
    try:
        campaign_model = apps.get_model("campaigns", "Campaign")
    except LookupError:
        return []
    rows = campaign_model.objects.filter(workspace=workspace).order_by("-created_at")[:CAMPAIGNS_IN_CONTEXT]
    return [
        {"id": c.id, "name": c.name, "status": getattr(c, "status", ""), "segment": getattr(c, "segment", "")}
        for c in rows
    ]


def context_build(*, conversation: Conversation) -> dict:
    """The context dict handed to the provider router for this conversation."""
    user, workspace = conversation.user, conversation.workspace
    if user is None or workspace is None:
        return {"anonymous": True}
    return {
        "user": {"firstName": user.first_name, "lastName": user.last_name},
        "workspace": {"id": workspace.id, "name": workspace.name},
        "sources": _sources(workspace),
        "analysis": _analysis(workspace),
        "campaigns": _campaigns(workspace),
    }
