"""The product recommendations block of the customer and segment pages (one fragment, reloaded live)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.policy import policy_page
from accounts.selectors import workspace_current_for_user
from integrations.analysis.forms import AnalysisFilterForm
from integrations.analysis.queries import SEGMENTS
from integrations.selectors import customer_get_for_user
from marketing_ai.errors import ApplicationError, NotFound

from .blocks import recommendations_block_context
from .services import recommendations_refresh_request


def _block_context(request, workspace=None) -> dict:
    customer_id, segment = request.GET.get("customer", ""), request.GET.get("segment", "")
    if customer_id.isdigit():
        return recommendations_block_context(
            request, customer=customer_get_for_user(user=request.user, customer_id=int(customer_id))
        )
    if segment not in SEGMENTS:
        raise NotFound("Give a customer or a segment.")
    workspace = workspace or workspace_current_for_user(user=request.user)
    form = AnalysisFilterForm(request.GET, workspace=workspace)
    filters = form.filters() if form.is_valid() else {}
    return recommendations_block_context(request, workspace=workspace, segment=segment, filters=filters)


@login_required
def product_recommendations(request):
    """The block alone (htmx reloads it when a refresh is announced)."""
    return render(request, "integrations/_product_recommendations.html", _block_context(request))


@login_required
@require_POST
@policy_page("product_recommendations.refresh")
def product_recommendations_refresh(request):
    """Queue a refresh and show the block (of `?customer=` or `?segment=`) as queued; it reloads itself when the
    refresh is done. A plain form post goes back to the page the block is on (the customers without one)."""
    workspace = workspace_current_for_user(user=request.user)
    error = ""
    try:
        recommendations_refresh_request(workspace=workspace, user=request.user)
    except ApplicationError as exc:  # the queue is unreachable (503)
        error = exc.message
    targeted = request.GET.get("customer", "").isdigit() or request.GET.get("segment", "") in SEGMENTS
    if not targeted:
        messages.info(request, error or "Refreshing the product recommendations.")
        return redirect("integrations:customer-list")
    context = {**_block_context(request, workspace), "recommendations_error": error}
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(context["recommendations_page"])
    return render(request, "integrations/_product_recommendations.html", context, status=503 if error else 200)
