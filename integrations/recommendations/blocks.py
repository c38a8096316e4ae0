"""The context of the product recommendations block (templates/integrations/_product_recommendations.html),
shared by the customer page, the segment page and the block's own view."""

from django.urls import reverse

from accounts.policy import policy_allows

from .selectors import recommendation_state, recommendations_for_customer, segment_recommendations

SHOWN = 5


def recommendations_block_context(
    request, *, customer=None, workspace=None, segment: str = "", filters: dict | None = None
) -> dict:
    """What `integrations/_product_recommendations.html` shows for a customer (in its workspace) or a segment of
    `workspace` (and its filters)."""
    workspace_id = customer.workspace_id if customer is not None else workspace.id
    if customer is not None:
        found = recommendations_for_customer(customer=customer, limit=SHOWN)
        query = f"customer={customer.id}"
    else:
        found = segment_recommendations(workspace=workspace, segment=segment, limit=SHOWN, **(filters or {}))
        query = request.GET.urlencode() if request.GET else ""
        query = f"segment={segment}" + (f"&{query}" if query else "")
    return {
        "recommendations": found,
        "recommendation_state": recommendation_state(workspace_id=workspace_id),
        "recommendations_for": "customer" if customer is not None else "segment",
        "recommendations_query": query,
        "recommendations_page": (
            reverse("integrations:customer-detail", args=[customer.id])
            if customer is not None
            else reverse("analytics:segment-customers", args=[segment])
        ),
        "can_refresh_recommendations": policy_allows(
            user=request.user, workspace=workspace_id, action="product_recommendations.refresh"
        ),
    }
