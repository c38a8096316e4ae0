"""Analytics pages: the overview (filters, cards, segments, SVG charts) and a segment's customers."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from accounts.display import label, money_format
from accounts.policy import policy_page
from accounts.selectors import workspace_current_for_user
from ai.predictions.selectors import predictions_for_customers
from integrations.audiences_out import audience_push_list_for_user, audience_push_start
from integrations.models import AudiencePush, EventRollup
from integrations.recommendations.blocks import recommendations_block_context
from integrations.selectors import meta_connection_for_workspace
from marketing_ai.charts import funnel_chart, time_chart
from marketing_ai.errors import ApplicationError, NotFound

from .audiences import segment_customer_list, segment_members_describe, segment_rule_get
from .forms import AnalysisFilterForm
from .selectors import analysis_overview

SEGMENT_PAGE_SIZE = 50


def _sources_url() -> str | None:
    try:
        return reverse("integrations:source-list")
    except NoReverseMatch:
        return None


def _query(overview: dict) -> str:
    """The API/export query string for the range and source the page shows."""
    params = {"from": overview["range"]["from"], "to": overview["range"]["to"]}
    if overview["filters"]["source"]:
        params["source"] = overview["filters"]["source"]["id"]
    return urlencode(params)


@login_required
def overview(request):
    workspace = workspace_current_for_user(user=request.user)
    form = AnalysisFilterForm(request.GET or None, workspace=workspace)
    context = {"form": form, "has_events": EventRollup.objects.filter(workspace=workspace).exists()}
    status = 200
    if form.is_bound and not form.is_valid():
        status = 422
    elif context["has_events"]:
        data = analysis_overview(workspace=workspace, **(form.filters() if form.is_bound else {}))

        def money(value: float) -> str:
            return money_format(value, currency=data["currency"], locale=workspace.locale)

        query = _query(data)
        context.update(
            overview=data,
            query=query,
            segments=[{"name": name, **segment, "title": label(name)} for name, segment in data["segments"].items()],
            funnel_svg=funnel_chart(data["funnel"], value_format=money),
            funnel_rows=[
                {**step, "change": change}
                for step, change in zip(data["funnel"]["steps"], data["funnel"]["change"]["steps"], strict=True)
            ],
            series_chart=time_chart(
                title="Events and purchases per day",
                labels=[point["date"] for point in data["timeSeries"]],
                bars={"Purchases": [point["purchases"] for point in data["timeSeries"]]},
                lines={"Events": [point["events"] for point in data["timeSeries"]]},
            ),
        )
    context["sources_url"] = _sources_url()
    template = "analytics/overview.html#analytics-body" if request.htmx else "analytics/overview.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def segment_customers(request, name: str):
    workspace = workspace_current_for_user(user=request.user)
    rule = segment_rule_get(name=name)  # NotFound: ApplicationErrorPageMiddleware answers with the 404 page
    form = AnalysisFilterForm(request.GET or None, workspace=workspace)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "rule": rule, "name": name}
        return render(request, "analytics/segment_customers.html", context, status=422)
    filters = form.filters() if form.is_bound else {}
    rows = segment_customer_list(workspace=workspace, name=name, **filters)
    page = Paginator(rows, SEGMENT_PAGE_SIZE).get_page(request.GET.get("page"))
    members = segment_members_describe(workspace=workspace, name=name, rows=page.object_list)
    predictions = predictions_for_customers(
        workspace_id=workspace.id, customer_ids=[member["customerId"] for member in members]
    )
    for member in members:
        member["prediction"] = predictions.get(member["customerId"])
    params = request.GET.copy()
    params.pop("page", None)
    api_params = {"from": filters.get("date_from"), "to": filters.get("date_to"), "source": filters.get("source_id")}
    context = {
        "form": form,
        "rule": rule,
        "name": name,
        "title": label(name),
        "page": page,
        "members": members,
        "filter_query": params.urlencode(),
        "query": urlencode({key: value for key, value in api_params.items() if value}),
        "pushes": audience_push_list_for_user(user=request.user, segment=name)[:5],
        "meta_connected": meta_connection_for_workspace(workspace=workspace) is not None,
        "push_modes": AudiencePush.Mode.choices,
        **recommendations_block_context(request, workspace=workspace, segment=name, filters=filters),
    }
    return render(request, "analytics/segment_customers.html", context)


@login_required
@require_POST
@policy_page("audiences.push")
def segment_push(request, name: str):
    """Queue a push of the segment to Meta; back to the segment page with the outcome."""
    workspace = workspace_current_for_user(user=request.user)
    form = AnalysisFilterForm(request.GET or None, workspace=workspace)
    filters = form.filters() if form.is_bound and form.is_valid() else {}
    try:
        push = audience_push_start(
            user=request.user,
            segment=name,
            filters={
                "from": filters.get("date_from"),
                "to": filters.get("date_to"),
                "source": filters.get("source_id"),
            },
            platform_audience_id=request.POST.get("audience_id", ""),
            mode=request.POST.get("mode", AudiencePush.Mode.ADD),
        )
    except NotFound:
        raise  # the 404 page (ApplicationErrorPageMiddleware), not a form error
    except ApplicationError as error:
        detail = " ".join(message for messages_ in (error.errors or {}).values() for message in messages_)
        messages.error(request, f"{error.message} {detail}".strip())
    else:
        messages.success(request, f"Pushing to Meta: {push.get_status_display().lower()}.")
    return redirect(f"{reverse('analytics:segment-customers', args=[name])}?{request.GET.urlencode()}")
