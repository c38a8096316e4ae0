"""Meta Marketing API insights (`GET /{object-id}/insights`) at PLATFORM_INSIGHTS_URL, one row per day and platform.

Docs: https://developers.facebook.com/docs/marketing-api/insights — counts arrive as strings, actions as
`[{action_type, value}]`, paging through `paging.next`.
"""

import json
from datetime import date

import httpx
from django.conf import settings

from accounts.models import Workspace
from ai.keys import provider_key_active_for
from marketing_ai.errors import ApplicationError

from .http import provider_get

PROVIDER = "meta-insights"
FIELDS = "impressions,clicks,spend,actions,date_start,date_stop"
MAX_PAGES = 50
ACTION_MAP = {
    "post_reaction": "likes",
    "like": "likes",
    "comment": "comments",
    "post": "shares",
    "offsite_conversion.fb_pixel_purchase": "conversions",
    "purchase": "conversions",
    "lead": "conversions",
}


def _access_token(workspace: Workspace) -> str:
    key = provider_key_active_for(workspace=workspace, provider="meta")
    if key is None:
        raise ApplicationError("Add a Meta access token (provider “meta”) to import insights.")
    return key.secret


def row_from_insight(item: dict) -> dict:
    """One insights object -> our metric row (strings parsed, actions folded into counters)."""
    row = {
        "date": item.get("date_start", ""),
        "platform": item.get("publisher_platform") or "facebook",
        "impressions": int(item.get("impressions") or 0),
        "clicks": int(item.get("clicks") or 0),
        "spend": item.get("spend") or "0",
        "likes": 0,
        "comments": 0,
        "shares": 0,
        "conversions": 0,
    }
    for action in item.get("actions") or []:
        counter = ACTION_MAP.get(action.get("action_type", ""))
        if counter:
            row[counter] += int(float(action.get("value") or 0))
    if row["platform"] not in ("facebook", "instagram"):
        row["platform"] = "facebook"
    return row


def insights_fetch(*, workspace: Workspace, object_id: str, since: date, until: date) -> list[dict]:
    """Daily insights rows for one campaign id, every page; each request is rate-checked and logged."""
    base = settings.PLATFORM_INSIGHTS_URL.format(version=settings.META_GRAPH_VERSION).rstrip("/")
    url: str | None = f"{base}/{object_id}/insights"
    params: dict | None = {
        "fields": FIELDS,
        "time_increment": 1,
        "breakdowns": "publisher_platform",
        "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
        "access_token": _access_token(workspace),
        "limit": 100,
    }
    rows: list[dict] = []
    with httpx.Client(timeout=settings.AI_REQUEST_TIMEOUT_SECONDS) as client:
        for _ in range(MAX_PAGES):
            if not url:
                break
            response = provider_get(
                client,
                url,
                workspace=workspace,
                provider=PROVIDER,
                purpose="platform",
                label="insights API",
                params=params,
            )
            payload = response.json()
            rows.extend(row_from_insight(item) for item in payload.get("data") or [])
            url, params = (payload.get("paging") or {}).get("next"), None
    return rows
