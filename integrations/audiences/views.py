"""Saved-audience pages: the list, the rule builder (new and edit), and one audience with its size history,
members, exports and pushes to Meta. Thin: selectors and services do the work."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.policy import policy_page
from accounts.selectors import workspace_current_for_user
from ai.predictions.selectors import predictions_for_customers
from integrations.audiences_out import audience_push_list_for_user, audience_push_start
from integrations.models import AudiencePush
from integrations.selectors import meta_connection_for_workspace
from marketing_ai.charts import time_chart
from marketing_ai.errors import ApplicationError

from .forms import blank_row, builder_choices, row_errors, rows_from_post, rows_from_rules, rules_from_rows
from .rules import rules_describe
from .selectors import (
    audience_customers,
    audience_get_for_user,
    audience_list_for_user,
    audience_may_edit,
    audience_size_history,
)
from .services import (
    audience_create,
    audience_delete,
    audience_preview_size,
    audience_refresh_start,
    audience_update,
)

MEMBER_PAGE_SIZE = 50
MAX_ROWS = 20


@login_required
def audience_list(request):
    audiences = audience_list_for_user(user=request.user)
    rows = [{"audience": audience, "summary": rules_describe(audience.rules)} for audience in audiences]
    return render(
        request, "audiences/audience_list.html", {"rows": rows, "can_edit": audience_may_edit(user=request.user)}
    )


@login_required
@require_http_methods(["GET", "POST"])
@policy_page("audiences.edit")
def audience_new(request):
    return _builder(request, audience=None)


@login_required
@require_http_methods(["GET", "POST"])
@policy_page("audiences.edit")
def audience_edit(request, audience_id: int):
    return _builder(request, audience=audience_get_for_user(user=request.user, audience_id=audience_id))


def _builder(request, *, audience):
    """The rule builder. Without JavaScript, "Add condition" and "Remove" post the form back and it is drawn again
    with one row more or less; `static/js/audiences.js` does the same in the page."""
    if request.method == "GET":
        if audience is not None:
            state = {"name": audience.name, "description": audience.description, "match": audience.rules["match"]}
            rows = rows_from_rules(audience.rules)
        else:
            state, rows = {"name": "", "description": "", "match": "all"}, [blank_row()]
        return _builder_page(request, audience=audience, state=state, rows=rows)
    state = {key: request.POST.get(key, "").strip() for key in ("name", "description", "match")}
    rows = rows_from_post(request.POST)
    action = request.POST.get("action", "save")
    if action == "add" and len(rows) < MAX_ROWS:
        return _builder_page(request, audience=audience, state=state, rows=[*rows, blank_row()])
    if action.startswith("remove-"):
        index = int(action.removeprefix("remove-")) if action.removeprefix("remove-").isdigit() else -1
        rows = [row for position, row in enumerate(rows) if position != index] or [blank_row()]
        return _builder_page(request, audience=audience, state=state, rows=rows)
    rules = rules_from_rows(match=state["match"] or "all", rows=rows)
    try:
        if action == "preview":
            size = audience_preview_size(workspace=workspace_current_for_user(user=request.user), rules=rules)
            return _builder_page(request, audience=audience, state=state, rows=rows, preview=size)
        data = {"name": state["name"], "description": state["description"], "rules": rules}
        if audience is None:
            audience = audience_create(user=request.user, **data)
        else:
            audience = audience_update(audience=audience, user=request.user, data=data)
    except ApplicationError as error:
        return _builder_page(request, audience=audience, state=state, rows=rows, error=error, status=error.status)
    messages.success(request, f"Audience “{audience.name}” saved; its members are being counted.")
    return redirect("audiences:audience-detail", audience.id)


def _builder_page(request, *, audience, state, rows, preview=None, error=None, status=200):
    per_row, general = row_errors(error.errors or {}, len(rows)) if error else ([[] for _ in rows], [])
    if error and not error.errors:
        general = [error.message]
    context = {
        "audience": audience,
        "state": state,
        "rows": [
            {"index": index, **row, "errors": errors}
            for index, (row, errors) in enumerate(zip(rows, per_row, strict=True))
        ],
        "choices": builder_choices(),
        "preview": preview,
        "general_errors": general,
        "name_errors": (error.errors or {}).get("name", []) if error else [],
        "can_edit": audience_may_edit(user=request.user),
        "max_rows": MAX_ROWS,
    }
    return render(request, "audiences/audience_form.html", context, status=422 if status == 400 else status)


@login_required
def audience_detail(request, audience_id: int):
    audience = audience_get_for_user(user=request.user, audience_id=audience_id)
    page = Paginator(audience_customers(audience=audience), MEMBER_PAGE_SIZE).get_page(request.GET.get("page"))
    predictions = predictions_for_customers(
        workspace_id=audience.workspace_id, customer_ids=[customer.id for customer in page.object_list]
    )
    history = _last_per_day(audience_size_history(audience=audience))
    context = {
        "audience": audience,
        "summary": rules_describe(audience.rules),
        "page": page,
        "members": [(customer, predictions.get(customer.id)) for customer in page.object_list],
        "chart": time_chart(
            title="Audience size",
            labels=[point.measured_at.date().isoformat() for point in history],
            lines={"Customers": [point.size for point in history]},
        )
        if history
        else None,
        "can_edit": audience_may_edit(user=request.user),
        "pushes": audience_push_list_for_user(user=request.user, audience_id=audience.id)[:5],
        "meta_connected": meta_connection_for_workspace(workspace=audience.workspace) is not None,
        "push_modes": AudiencePush.Mode.choices,
        "campaigns": audience.campaigns.order_by("-created_at")[:5],
    }
    return render(request, "audiences/audience_detail.html", context)


def _last_per_day(points: list) -> list:
    """One point per day (the day's last refresh), so the chart's x axis has one label per day."""
    by_day = {}
    for point in points:
        by_day[point.measured_at.date()] = point
    return list(by_day.values())


def _action(request, audience_id: int, action, success: str):
    """Run a service for the audience page, then back to it with the outcome as a message."""
    audience = audience_get_for_user(user=request.user, audience_id=audience_id)
    try:
        action(audience)
    except ApplicationError as error:
        detail = " ".join(message for messages_ in (error.errors or {}).values() for message in messages_)
        messages.error(request, f"{error.message} {detail}".strip())
    else:
        messages.success(request, success)
    return redirect("audiences:audience-detail", audience_id)


@login_required
@require_POST
@policy_page("audiences.edit")
def audience_refresh(request, audience_id: int):
    return _action(
        request,
        audience_id,
        lambda audience: audience_refresh_start(audience=audience, user=request.user),
        "Refresh queued; the size updates in a moment.",
    )


@login_required
@require_POST
@policy_page("audiences.push")
def audience_push(request, audience_id: int):
    return _action(
        request,
        audience_id,
        lambda audience: audience_push_start(
            user=request.user,
            audience=audience,
            platform_audience_id=request.POST.get("audience_id", ""),
            mode=request.POST.get("mode", AudiencePush.Mode.ADD),
        ),
        "Pushing the audience to Meta.",
    )


@login_required
@require_POST
@policy_page("audiences.edit")
def audience_remove(request, audience_id: int):
    audience = audience_get_for_user(user=request.user, audience_id=audience_id)
    try:
        audience_delete(audience=audience, user=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("audiences:audience-detail", audience_id)
    messages.success(request, f"Audience “{audience.name}” deleted.")
    return redirect(reverse("audiences:audience-list"))
