"""HTML pages: the campaigns board, detail (variants, approvals, performance), create form and actions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Membership, User
from accounts.policy import policy_page, role_allows, roles_allowed
from accounts.selectors import membership_current_for_user, notification_list_for_user, workspace_current_for_user
from integrations.audiences.selectors import audience_list_for_workspace
from marketing_ai.charts import time_chart
from marketing_ai.errors import ApplicationError, NotFound

from . import selectors
from .content import content_job_start
from .forms import CampaignForm, DecisionForm, GenerateForm, MetricsCsvForm, TransitionForm
from .metrics import csv_rows, metrics_import, performance_summary
from .models import ApprovalStep, Campaign, PerformanceMetric
from .models.campaign import Platform
from .publishing import PUBLISHABLE, PUBLISHABLE_CAMPAIGN_STATUSES
from .services import TRANSITIONS, WORKFLOW_STATUSES, campaign_create, campaign_update
from .services import campaign_create_from_recommendation as create_from_recommendation
from .workflow import approval_decide, campaign_submit, can_decide, four_eyes_conflict

BOARD_COLUMNS = list(Campaign.Status)
BOARD_LIMIT = 30


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(getattr(exc, "message", exc))


def _status_of(exc: Exception) -> int:
    return getattr(exc, "status", 400)


@login_required
def campaign_list(request):
    """The board: one column per status (or one status as a paginated table with ?status=)."""
    status = request.GET.get("status")
    campaigns = selectors.campaign_list_for_user(user=request.user)
    if status in Campaign.Status.values:
        page = Paginator(campaigns.filter(status=status), 25).get_page(request.GET.get("page"))
        return render(
            request,
            "campaigns/campaign_list.html",
            {"status": status, "page": page, "status_label": Campaign.Status(status).label},
        )
    counts = selectors.campaign_counts_by_status(campaigns=campaigns)
    columns = [
        {
            "status": s.value,
            "label": s.label,
            "campaigns": list(campaigns.filter(status=s.value)[:BOARD_LIMIT]) if counts.get(s.value) else [],
            "count": counts.get(s.value, 0),
        }
        for s in BOARD_COLUMNS
    ]
    notifications = notification_list_for_user(user=request.user, unread_only=True)[:5]
    return render(
        request,
        "campaigns/board.html",
        {
            "columns": columns,
            "total": sum(counts.values()),
            "notifications": notifications,
            "recommendations": selectors.recommendation_list_unused_for_user(user=request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@policy_page("campaigns.edit")
def campaign_new(request):
    workspace = workspace_current_for_user(user=request.user)
    form = CampaignForm(request.POST or None, audiences=audience_list_for_workspace(workspace=workspace))
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaign_create(user=request.user, workspace=workspace, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Campaign created.")
            return redirect("campaigns:campaign-detail", campaign.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "campaigns/campaign_form.html", {"form": form}, status=status)


@login_required
@require_POST
@policy_page("campaigns.edit")
def campaign_from_recommendation(request, recommendation_id: int):
    """One click from a recommendation card: create the campaign and open it."""
    try:
        recommendation = selectors.recommendation_get_for_user(user=request.user, recommendation_id=recommendation_id)
        campaign = create_from_recommendation(user=request.user, recommendation=recommendation)
    except NotFound:
        raise  # the 404 page (ApplicationErrorPageMiddleware), not a message on the list
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:campaign-list")
    messages.success(request, f"Campaign “{campaign.name}” created from the recommendation.")
    if request.htmx:
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(reverse("campaigns:campaign-detail", args=[campaign.pk]))
    return redirect("campaigns:campaign-detail", campaign.pk)


def _percent(value: float) -> str:
    return f"{value:.1f}%"


def _timeline(campaign: Campaign, user: User, role: str | None) -> list[dict]:
    workflows = []
    for workflow in selectors.workflow_list_for_campaign(campaign=campaign):
        steps = []
        for step in workflow.steps.all():
            pending = step.status == ApprovalStep.Status.PENDING
            approver = pending and can_decide(step=step, user=user, role=role)
            blocked = approver and four_eyes_conflict(step=step, user=user)
            steps.append(
                {
                    "step": step,
                    "actionable": approver and not blocked,
                    "four_eyes": blocked,
                    "decisions": list(step.decisions.all()),
                }
            )
        workflows.append({"workflow": workflow, "steps": steps})
    return workflows


def _detail_context(request, campaign: Campaign, **extra) -> dict:
    membership = membership_current_for_user(user=request.user)
    role = membership.role if membership else None
    variants = list(selectors.variant_list_for_campaign(campaign=campaign))
    summary = performance_summary(rows=list(selectors.metric_list_for_campaign(campaign=campaign)))
    days = summary["daily"]
    chart = (
        time_chart(
            title="Daily impressions and clicks",
            labels=[d["date"] for d in days],
            lines={"Impressions": [d["impressions"] for d in days], "Clicks": [d["clicks"] for d in days]},
        )
        if days
        else None
    )
    rates_chart = (
        time_chart(
            title="Daily engagement rate and CTR",
            labels=[d["date"] for d in days],
            lines={
                "Engagement rate": [100 * d["engagementRate"] for d in days],
                "CTR": [100 * d["ctr"] for d in days],
            },
            formats={"Engagement rate": _percent, "CTR": _percent},
            axis_format=_percent,
        )
        if days
        else None
    )
    can_edit = role_allows(role, "campaigns.edit")
    latest_job = campaign.content_jobs.first()
    manual = sorted(TRANSITIONS[campaign.status] - set(WORKFLOW_STATUSES)) if can_edit else []
    deciders = Membership.objects.filter(
        workspace=campaign.workspace, role__in=roles_allowed("approvals.decide")
    ).select_related("user")
    context = {
        "campaign": campaign,
        "variants": variants,
        "timeline": _timeline(campaign, request.user, role),
        "activity": selectors.activity_list_for_campaign(campaign=campaign),
        "summary": summary,
        "rates_pct": {
            key: round(summary["totals"][key] * 100, 2) for key in ("ctr", "engagementRate", "conversionRate")
        },
        "chart": chart,
        "rates_chart": rates_chart,
        "can_edit": can_edit,
        "can_generate": can_edit and campaign.status in (Campaign.Status.DRAFT, Campaign.Status.REJECTED),
        "can_submit": can_edit
        and campaign.status in (Campaign.Status.DRAFT, Campaign.Status.REJECTED)
        and bool(variants),
        "manual_transitions": [{"value": s, "label": Campaign.Status(s).label} for s in manual],
        "platforms": Platform.choices,
        "generate_form": GenerateForm(initial={"platforms": campaign.channels or ["instagram"]}),
        "metrics_form": MetricsCsvForm(),
        "decision_form": DecisionForm(),
        "deciders": [m.user for m in deciders if m.user_id != request.user.pk],
        "latest_job": latest_job,
        "job_running": bool(latest_job and latest_job.status in ("queued", "running")),
        "role": role,
        "publications": list(campaign.publications.select_related("variant")),
        "publishable": [v for v in variants if v.platform in PUBLISHABLE and v.is_current]
        if can_edit and campaign.status in PUBLISHABLE_CAMPAIGN_STATUSES
        else [],
        "brand_scored": selectors.brand_profile_exists(workspace=campaign.workspace),
    }
    context.update(extra)
    return context


@login_required
def campaign_detail(request, campaign_id: int):
    campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    template = "campaigns/campaign_detail.html"
    if request.htmx and request.GET.get("fragment") == "content":
        template += "#content"
    response = render(request, template, _detail_context(request, campaign))
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def variant_image(request, campaign_id: int, variant_id: int):
    """A variant's image, only for members of the campaign's workspace (media is not public)."""
    campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    variant = campaign.variants.filter(pk=variant_id).exclude(image="").first()
    if variant is None:
        raise Http404("No image.")
    return FileResponse(variant.image.open("rb"), content_type="image/png")


@login_required
def brand_asset_image(request, asset_id: int):
    """A brand asset's file, only for members of its workspace."""
    workspace = workspace_current_for_user(user=request.user)
    asset = selectors.brand_asset_list_for_workspace(workspace=workspace).filter(pk=asset_id).first()
    if asset is None:
        raise Http404("No asset.")
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[asset.image_format]
    return FileResponse(asset.file.open("rb"), content_type=content_type)


def _after_action(request, campaign_id: int, action, success: str):
    """Run a service for the campaign page; errors re-render the page with the message and a 4xx status."""
    campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    try:
        action(campaign)
    except NotFound:
        raise  # the 404 page (ApplicationErrorPageMiddleware), not a form error
    except (ApplicationError, ValidationError) as exc:
        campaign.refresh_from_db()
        context = _detail_context(request, campaign, error=_error_text(exc))
        return render(request, "campaigns/campaign_detail.html", context, status=_status_of(exc))
    messages.success(request, success)
    return redirect("campaigns:campaign-detail", campaign_id)


@login_required
@require_POST
@policy_page("content.generate")
def campaign_generate(request, campaign_id: int):
    form = GenerateForm(request.POST)

    def action(campaign):
        if not form.is_valid():
            raise ValidationError("Choose at least one platform.")
        content_job_start(campaign=campaign, user=request.user, platforms=form.cleaned_data["platforms"])

    return _after_action(request, campaign_id, action, "Content generation started.")


@login_required
@require_POST
@policy_page("campaigns.edit")
def campaign_submit_page(request, campaign_id: int):
    return _after_action(
        request,
        campaign_id,
        lambda campaign: campaign_submit(campaign=campaign, user=request.user),
        "Submitted for approval.",
    )


@login_required
@require_POST
@policy_page("campaigns.edit")
def campaign_status(request, campaign_id: int):
    form = TransitionForm(request.POST)

    def action(campaign):
        if not form.is_valid():
            raise ValidationError("Unknown status.")
        if form.cleaned_data["status"] in WORKFLOW_STATUSES:
            raise ValidationError("Approvers decide the review statuses.")
        campaign_update(campaign=campaign, user=request.user, data={"status": form.cleaned_data["status"]})

    return _after_action(request, campaign_id, action, "Status updated.")


@login_required
@require_POST
@policy_page("approvals.decide")
def approval_decision(request, step_id: int):
    step = selectors.step_get_for_user(user=request.user, step_id=step_id)
    form = DecisionForm(request.POST)

    def action(campaign):
        if not form.is_valid():
            raise ValidationError("Choose approve, reject or delegate.")
        delegate = None
        if form.cleaned_data["delegate_to"]:
            delegate = selectors.workspace_member_get(
                workspace_id=campaign.workspace_id, user_id=form.cleaned_data["delegate_to"]
            )
        approval_decide(
            step=step,
            user=request.user,
            decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"],
            delegate_to=delegate,
        )

    verb = {"approve": "Approved", "reject": "Rejected", "delegate": "Delegated"}.get(request.POST.get("decision"), "")
    return _after_action(request, step.workflow.campaign_id, action, f"{verb}.")


@login_required
@require_POST
@policy_page("metrics.import")
def campaign_metrics_import(request, campaign_id: int):
    form = MetricsCsvForm(request.POST, request.FILES)

    def action(campaign):
        if not form.is_valid():
            raise ValidationError("Choose a CSV file.")
        try:
            text = form.cleaned_data["file"].read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("The CSV must be UTF-8 text.") from None
        metrics_import(
            campaign=campaign, user=request.user, rows=csv_rows(text=text), source=PerformanceMetric.Source.CSV
        )

    return _after_action(request, campaign_id, action, "Performance data imported.")
