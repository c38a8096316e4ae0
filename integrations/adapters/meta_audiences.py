"""Meta Custom Audiences through the official SDK: create an audience, upload hashed customer rows in sessions.

Docs: https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences — at most 10,000 rows
per request; a `session` (`session_id`, `batch_seq` from 1, `last_batch_flag`, `estimated_num_total`) ties the
requests of one upload together, and `usersreplace` swaps the whole audience for the rows of one session.
"""

from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.customaudience import CustomAudience
from facebook_business.api import FacebookAdsApi

from .meta_graph import graph_call

SCHEMA = [
    CustomAudience.Schema.MultiKeySchema.email,
    CustomAudience.Schema.MultiKeySchema.fn,
    CustomAudience.Schema.MultiKeySchema.ln,
]


def custom_audience_create(*, api: FacebookAdsApi, ad_account_id: str, name: str, description: str) -> str:
    """A new customer-list audience in the ad account; returns its id."""
    params = {
        "name": name[:200],
        "description": description[:300],
        "subtype": "CUSTOM",
        "customer_file_source": "USER_PROVIDED_ONLY",
    }
    account = AdAccount(f"act_{ad_account_id}", api=api)
    audience = graph_call(lambda: account.create_custom_audience(params=params), what="create the audience")
    return str(audience["id"])


def custom_audience_upload(
    *, api: FacebookAdsApi, audience_id: str, rows: list[list[str]], session: dict, replace: bool
) -> dict:
    """Upload one batch of rows already hashed per Meta's rules (`SCHEMA` order); Meta's counts for the batch."""
    audience = CustomAudience(audience_id, api=api)
    params = CustomAudience.format_params(SCHEMA, rows, is_raw=True, pre_hashed=True, session=session)
    if replace:
        result = graph_call(lambda: audience.create_users_replace(params=params), what="replace the audience's users")
    else:
        result = graph_call(lambda: audience.create_user(params=params), what="add users to the audience")
    data = result.export_all_data() if hasattr(result, "export_all_data") else dict(result)
    return {
        "received": int(data.get("num_received") or 0),
        "invalid": int(data.get("num_invalid_entries") or 0),
    }
