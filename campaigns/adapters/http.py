"""One logged, rate-checked GET to an external provider; failures become ProviderUnavailable."""

import time

import httpx

from accounts.models import Workspace
from ai.calls import elapsed_ms, provider_call_record
from ai.ratelimit import ai_rate_limit_check
from marketing_ai.errors import ProviderUnavailable, RateLimited


def provider_get(
    client: httpx.Client,
    url: str,
    *,
    workspace: Workspace | None,
    provider: str,
    purpose: str,
    label: str,
    **kwargs,
) -> httpx.Response:
    """GET `url` after the workspace's rate check, logging one ProviderCall whatever happens."""
    started = time.monotonic()

    def log(status: str, error: str = "") -> None:
        provider_call_record(
            workspace=workspace,
            provider=provider,
            purpose=purpose,
            status=status,
            latency_ms=elapsed_ms(started),
            error=error,
        )

    try:
        ai_rate_limit_check(workspace=workspace, scope=provider)
    except RateLimited:
        log("rate_limited", "local rate limit")
        raise
    try:
        response = client.get(url, **kwargs)
    except httpx.TimeoutException:
        log("timeout", "timeout")
        raise ProviderUnavailable(f"The {label} timed out.") from None
    except httpx.HTTPError:
        log("error", "connection failed")
        raise ProviderUnavailable(f"The {label} could not be reached.") from None
    if response.status_code >= 400:
        log("rate_limited" if response.status_code == 429 else "error", f"HTTP {response.status_code}")
        raise ProviderUnavailable(f"The {label} answered {response.status_code}.")
    log("ok")
    return response
