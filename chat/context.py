"""The grounding context of an answer: who asks, the workspace's sources, analysis and campaigns (DESIGN §6).

An anonymous conversation gets no workspace data at all.
"""

import logging

from django.apps import apps
from django.utils import timezone

from marketing_ai.caching import shared_cache
from marketing_ai.db import rows_fetched

from .models import Conversation

logger = logging.getLogger(__name__)

CAMPAIGNS_IN_CONTEXT = 10
ANALYSIS_KEYS_LEFT_OUT = ("timeSeries",)
# The analysis summary is shared by every answer in a workspace for this long: it scans all the events of
# the last 30 days, so computing it per message would make each answer (and a burst of them) wait on it.
ANALYSIS_CACHE_SECONDS = 60


def _sources(workspace) -> list[dict]:
    # Read for every answer: plain SQL (see `rows_fetched`).
    table = apps.get_model("integrations", "DataSource")._meta.db_table
    rows = rows_fetched(
        f"SELECT id, name, source_type, status FROM {table} WHERE workspace_id = %s ORDER BY id", [workspace.id]
    )
    return [{"id": id_, "name": name, "type": kind, "status": status} for id_, name, kind, status in rows]


def _analysis(workspace) -> dict:
    key = f"chat-context-analysis:{workspace.id}:{timezone.now().date().isoformat()}"
    summary = shared_cache().get(key)
    if summary is None:
        summary = _analysis_computed(workspace)
        if summary is not None:
            shared_cache().set(key, summary, ANALYSIS_CACHE_SECONDS)
    return summary or {}


def _analysis_computed(workspace) -> dict | None:
    try:
        from integrations.analysis.selectors import analysis_overview
    except ImportError:
        return {}
    try:
        overview = analysis_overview(workspace=workspace)
    except Exception:  # the answer goes on without the summary rather than failing
        logger.exception("Analysis summary unavailable for workspace %s", workspace.id)
        return None
    return {key: value for key, value in overview.items() if key not in ANALYSIS_KEYS_LEFT_OUT}


def _campaigns(workspace) -> list[dict]:
    try:
        campaign_model = apps.get_model("campaigns", "Campaign")
    except LookupError:
        return []
    rows = rows_fetched(
        f"SELECT id, name, status, segment FROM {campaign_model._meta.db_table} WHERE workspace_id = %s "
        "ORDER BY created_at DESC, id DESC LIMIT %s",
        [workspace.id, CAMPAIGNS_IN_CONTEXT],
    )
    return [{"id": id_, "name": name, "status": status, "segment": segment} for id_, name, status, segment in rows]


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
