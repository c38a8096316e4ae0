"""The AI rate limit: calls per workspace (or anonymous client) and minute, shared by every web process."""

import time

from django.conf import settings

from marketing_ai.caching import counter_incremented
from marketing_ai.errors import RateLimited

WINDOW_SECONDS = 60
AI_SCOPE = "ai"


def ai_rate_limit_check(*, workspace=None, client_key: str = "", scope: str = AI_SCOPE) -> int:
    """Count one call for the workspace (or anonymous client) in this minute; RateLimited past the limit.

    `scope` "ai" is the one budget of model calls (chat answers, intent, recommendations, content); other
    external APIs (e.g. "freepik") count in a budget of their own with the same limit. Returns the count in
    the current window. The counter lives in the cache (Redis when REDIS_URL is set), shared by every process.
    """
    limit = int(settings.AI_RATE_LIMIT_PER_MINUTE)
    if limit <= 0:
        return 0
    owner = workspace.pk if workspace is not None else f"anon-{client_key or 'all'}"
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    count = counter_incremented(f"ai-rate:{scope}:{owner}:{window}", timeout=WINDOW_SECONDS * 2)
    if count > limit:
        what = "AI" if scope == AI_SCOPE else scope
        raise RateLimited(
            f"Too many {what} requests for this workspace; please wait a moment.",
            retry_after=int((window + 1) * WINDOW_SECONDS - now) + 1,
        )
    return count
