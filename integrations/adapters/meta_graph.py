"""Meta's Graph API through the official `facebook-business` SDK: one API object per token, at `META_GRAPH_URL`.

The SDK joins `<base>/<version>/<path>`, so the base is `META_GRAPH_URL` without its `/{version}` tail. The SDK's
`FacebookAdsApi.init` is not used: it sets a process-wide default API and turns on a crash reporter that posts
to Meta; an API object per call keeps tokens apart and nothing leaves except the calls we make.
"""

import hashlib
import logging
import time
from collections.abc import Callable

from django.conf import settings
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookError, FacebookRequestError
from facebook_business.session import FacebookSession

from marketing_ai.errors import ApplicationError, ProviderUnavailable

logger = logging.getLogger(__name__)
RETRIED_STATUSES = (429, 500, 502, 503, 504)
# Graph error codes that mean "slow down" or "try again" even when the HTTP status is 400.
TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 613, 80003, 80004}


def graph_base() -> str:
    template = settings.META_GRAPH_URL.rstrip("/")
    return template.removesuffix("/{version}").replace("{version}", settings.META_GRAPH_VERSION)


def graph_api(*, access_token: str) -> FacebookAdsApi:
    session = FacebookSession(access_token=access_token, timeout=settings.META_TIMEOUT_SECONDS)
    session.GRAPH = graph_base()
    return FacebookAdsApi(session, api_version=settings.META_GRAPH_VERSION)


def graph_error_message(error: FacebookRequestError) -> str:
    """Meta's own explanation, safe to show (it never contains the token)."""
    message = error.api_error_message() or "no message"
    user_message = error.body().get("error", {}).get("error_user_msg") if isinstance(error.body(), dict) else None
    return str(user_message or message)[:300]


def graph_call(call: Callable, *, what: str, attempts: int | None = None):
    """Run one SDK call, retrying 429, 5xx and Meta's transient codes with backoff.

    Raises ProviderUnavailable when Meta stays unavailable, ApplicationError with Meta's reason when it refuses.
    """
    attempts = attempts or settings.META_MAX_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except FacebookRequestError as error:
            transient = error.http_status() in RETRIED_STATUSES or error.api_error_code() in TRANSIENT_CODES
            if not transient:
                raise ApplicationError(f"Meta refused to {what}: {graph_error_message(error)}") from None
            if attempt == attempts:
                raise ProviderUnavailable(
                    f"Meta is unavailable ({error.http_status()}) and did not {what} after {attempts} attempts."
                ) from None
        except (FacebookError, OSError) as error:  # connection refused, timeouts (requests' errors are OSErrors)
            logger.warning("meta graph: %s failed: %s", what, type(error).__name__)
            if attempt == attempts:
                raise ProviderUnavailable(f"Meta could not be reached to {what}.") from None
        time.sleep(min(settings.META_BACKOFF_SECONDS * 2 ** (attempt - 1), 30))
    raise AssertionError("unreachable")


def meta_normalized(kind: str, value: str) -> str:
    """Meta's normalization before hashing: e-mail trimmed and lower-cased; names lower-cased, letters only."""
    value = (value or "").strip().lower()
    if kind in ("FN", "LN"):
        return "".join(character for character in value if character.isalpha())
    return value


def meta_hash(kind: str, value: str) -> str:
    normalized = meta_normalized(kind, value)
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest() if normalized else ""
