"""The AI pages: provider settings (`ai:settings`: provider order, masked keys with test buttons, recent
usage) and usage and cost (`ai:usage`: daily summaries per provider, with a cost chart).

Thin HTMX views: parse the form, call one service from `ai.keys` or `ai.usage`, render the page or a fragment.
Only owners and admins may change provider settings (403 otherwise); everyone in the workspace may look.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from accounts.display import cost_format
from accounts.policy import policy_page
from accounts.selectors import workspace_current_for_user
from marketing_ai.charts import time_chart
from marketing_ai.errors import ApplicationError, NotFound, PermissionDenied

from .forms import ProviderKeyForm, ProviderOrderForm, UsageRangeForm
from .keys import (
    provider_key_delete,
    provider_key_list_for_user,
    provider_key_save,
    provider_key_test,
    provider_order_set,
    provider_settings_for_user,
    user_can_manage_providers,
)
from .usage import (
    day_bounds,
    usage_aggregate,
    usage_breakdown_for_workspace,
    usage_daily_for_workspace,
    usage_summary_for_workspace,
    usage_totals,
)

TEMPLATE = "ai/settings.html"
USAGE_DAYS = 30


def _page_context(request: HttpRequest, **forms_given) -> dict:
    user = request.user
    workspace = workspace_current_for_user(user=user)
    provider_settings = provider_settings_for_user(user=user)
    initial = ", ".join(provider_settings["providers"]) if provider_settings["isWorkspaceOverride"] else ""
    keys = list(provider_key_list_for_user(user=user))
    can_manage = user_can_manage_providers(user=user)
    return {
        "unused_keys": sorted({key.provider for key in keys if key.provider not in provider_settings["providers"]}),
        "can_manage": can_manage,
        "provider_settings": provider_settings,
        "order_form": forms_given.get("order_form") or ProviderOrderForm(initial={"providers": initial}),
        "key_form": forms_given.get("key_form") or ProviderKeyForm(can_manage=can_manage),
        "workspace_keys": [key for key in keys if not key.user_id],
        "personal_keys": [key for key in keys if key.user_id],
        "usage": usage_summary_for_workspace(workspace=workspace, days=USAGE_DAYS),
        "usage_days": USAGE_DAYS,
    }


def _fragment(request: HttpRequest, name: str, context: dict, *, status: int = 200, toast: str = "") -> HttpResponse:
    if not request.htmx:
        if toast:
            messages.success(request, toast)
        return redirect("ai:settings")
    response = render(request, f"{TEMPLATE}#{name}", context, status=status)
    if toast:
        trigger_client_event(response, "toast", {"message": toast, "level": "success"})
    return response


def _invalid(request: HttpRequest, name: str, **forms_given) -> HttpResponse:
    """The page (the `name` fragment for HTMX) showing a bound form's errors, with status 422."""
    template = f"{TEMPLATE}#{name}" if request.htmx else TEMPLATE
    return render(request, template, _page_context(request, **forms_given), status=422)


def _scope_posted(request: HttpRequest) -> str:
    return request.POST.get("scope") or "workspace"


@login_required
def ai_settings(request: HttpRequest) -> HttpResponse:
    return render(request, TEMPLATE, _page_context(request))


@login_required
@require_POST
@policy_page("provider_keys.manage")
def ai_provider_order(request: HttpRequest) -> HttpResponse:
    form = ProviderOrderForm(request.POST)
    if form.is_valid():
        provider_order_set(user=request.user, providers=form.cleaned_data["providers"])
        return _fragment(request, "order", _page_context(request), toast="Provider order saved.")
    return _invalid(request, "order", order_form=form)


@login_required
@require_POST
def ai_provider_key_save(request: HttpRequest) -> HttpResponse:
    form = ProviderKeyForm(request.POST, can_manage=user_can_manage_providers(user=request.user))
    if form.is_valid():
        data = form.cleaned_data
        try:
            provider_key_save(
                user=request.user,
                provider=data["provider"],
                secret=data["secret"],
                base_url=data["base_url"],
                model=data["model"],
                scope=data["scope"],
            )
        except PermissionDenied:
            raise  # the 403 page (workspace keys are for owners and admins; personal keys for anyone)
        except ApplicationError as exc:
            fields = {"provider": "provider", "secret": "secret", "baseUrl": "base_url", "model": "model"}
            for field, errors in (exc.errors or {"secret": [exc.message]}).items():
                form.add_error(fields.get(field), errors)  # each field's own reason, not "Some fields are invalid."
        else:
            return _fragment(request, "keys", _page_context(request), toast="Key checked and saved.")
    return _invalid(request, "keys", key_form=form)


@login_required
@require_POST
def ai_provider_key_delete(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        provider_key_delete(user=request.user, provider=provider, scope=_scope_posted(request))
    except NotFound:
        return HttpResponse("No key is stored for this provider.", status=404)
    return _fragment(request, "keys", _page_context(request), toast="Key deleted.")


@login_required
@require_POST
def ai_provider_key_test(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        result = provider_key_test(user=request.user, provider=provider, scope=_scope_posted(request))
    except PermissionDenied:
        raise
    except NotFound:
        return HttpResponse("No key is stored for this provider.", status=404)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=400)
    if not request.htmx:
        return redirect("ai:settings")
    if not result["ok"]:  # a refused key was switched off: the whole key table shows it
        response = render(request, f"{TEMPLATE}#keys", _page_context(request) | {"failed_test": result})
        response["HX-Retarget"], response["HX-Reswap"] = "#provider-keys", "outerHTML"
        return response
    return render(request, f"{TEMPLATE}#test-result", {"result": result})


BREAKDOWN_TITLES = {"feature": "Per feature", "model": "Per model", "user": "Per member"}


def _breakdowns(*, workspace, start, end) -> list[dict]:
    since, until = day_bounds(start, end)
    return [
        {
            "by": by,
            "title": title,
            "rows": usage_breakdown_for_workspace(workspace=workspace, by=by, since=since, until=until),
        }
        for by, title in BREAKDOWN_TITLES.items()
    ]


@login_required
@require_http_methods(["GET", "POST"])
def usage(request: HttpRequest) -> HttpResponse:
    """Daily API usage and cost per provider for a date range, with a cost chart."""
    workspace = workspace_current_for_user(user=request.user)
    today = timezone.now().date()
    start, end = today - timedelta(days=29), today
    form = UsageRangeForm(request.GET or None, initial={"start": start, "end": end})
    status = 200
    if form.is_bound:
        if form.is_valid():
            end = form.cleaned_data["end"] or end
            start = form.cleaned_data["start"] or end - timedelta(days=29)
        else:
            status = 422
    if request.method == "POST":
        usage_aggregate(start=start, end=end, workspace=workspace)
        messages.success(request, "Usage refreshed from the call log.")
        return redirect(f"{request.path}?start={start}&end={end}")
    rows = list(usage_daily_for_workspace(workspace=workspace, start=start, end=end))
    per_day: dict = {}
    for row in rows:
        per_day[row.day] = per_day.get(row.day, 0) + float(row.cost)
    providers: dict = {}
    for row in rows:
        providers.setdefault(row.provider, []).append(row)
    chart = (
        time_chart(
            title="Cost per day",
            labels=[d.isoformat() for d in per_day],
            bars={"Cost": list(per_day.values())},
            formats={"Cost": cost_format},
            axis_format=cost_format,
        )
        if per_day
        else None
    )
    return render(
        request,
        "ai/usage.html",
        {
            "form": form,
            "start": start,
            "end": end,
            "rows": rows,
            "totals": usage_totals(rows),
            "providers": [{"provider": name, **usage_totals(group)} for name, group in sorted(providers.items())],
            "chart": chart,
            "breakdowns": _breakdowns(workspace=workspace, start=start, end=end),
        },
        status=status,
    )
