"""HTML pages (HTMX): sources, source detail with events and jobs, CSV preview/import, customers."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts.policy import policy_allows, policy_page
from accounts.selectors import workspace_current_for_user
from ai.predictions.selectors import customer_predictions_data
from marketing_ai.errors import ApplicationError

from .analysis.coverage import coverage_report
from .csv_preview import csv_preview
from .forms import CsvImportForm, CsvUploadForm, EventFilterForm, SourceCreateForm
from .identity import identity_merge_undo
from .intake import ADAPTERS
from .models import DataSource
from .recommendations.blocks import recommendations_block_context
from .selectors import (
    customer_get_for_user,
    customer_list_for_user,
    customer_recent_events,
    data_source_get_for_user,
    data_source_list_for_user,
    event_list_for_user,
    identity_merge_get_for_user,
    identity_merges_for_customer,
    job_control_allowed,
    job_get_for_user,
    job_list_for_source,
)
from .services import (
    csv_import_start,
    csv_upload_store,
    data_source_create,
    data_source_delete,
    demo_data_start,
    dummy_data_start,
    job_cancel,
    job_retry,
    sync_job_start,
)

DUMMY_TYPES = [("gtm", "Google Tag Manager"), ("facebook_pixel", "Meta Pixel"), ("shopify", "Shopify")]


def _page(request, queryset, size: int = 25):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _job_context(request, job) -> dict:
    return {"job": job, "can_control_jobs": job_control_allowed(user=request.user, workspace_id=job.workspace_id)}


def _job_response(request, job, message: str):
    job.refresh_from_db()  # a job run inline (no worker) is already done: show where it really stands
    response = render(request, "integrations/_job.html", _job_context(request, job))
    return trigger_client_event(response, "toast", {"message": message, "level": "success"})


@login_required
def source_list(request):
    sources = data_source_list_for_user(user=request.user, with_counts=True)
    coverage = coverage_report(workspace=workspace_current_for_user(user=request.user))
    context = {"sources": sources, "dummy_types": DUMMY_TYPES, "coverage": coverage}
    return render(request, "integrations/source_list.html", context)


@login_required
@policy_page("sources.manage")
def source_create(request):
    initial = {"source_type": request.GET.get("type", "gtm")}
    form = SourceCreateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                source = data_source_create(
                    workspace=workspace_current_for_user(user=request.user),
                    user=request.user,
                    source_type=form.cleaned_data["source_type"],
                    name=form.cleaned_data["name"],
                    config=form.config(),
                )
            except ApplicationError as exc:
                for key, messages in (exc.errors or {}).items():
                    field = key.removeprefix("config.")
                    form.add_error(field if field in form.fields else None, messages)
                if not exc.errors:
                    form.add_error(None, exc.message)
            else:
                url = reverse("integrations:source-detail", kwargs={"source_id": source.id})
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        status = 422
    template = "integrations/source_form.html"
    if request.htmx and request.method == "GET":
        template += "#type-fields"
    return render(request, template, {"form": form}, status=status)


@login_required
def source_detail(request, source_id: int):
    source = data_source_get_for_user(user=request.user, source_id=source_id)
    filters = EventFilterForm(request.GET or None)
    event_type = filters.cleaned_data.get("type") if filters.is_valid() else None
    events = _page(request, event_list_for_user(user=request.user, source=str(source.id), event_type=event_type))
    context = {
        "source": source,
        "events": events,
        "filters": filters,
        "jobs": job_list_for_source(source=source),
        "can_control_jobs": job_control_allowed(user=request.user, workspace_id=source.workspace_id),
        "collect_url": request.build_absolute_uri(
            reverse("integrations-api:collect", kwargs={"write_key": source.write_key})
        )
        if source.source_type in ADAPTERS
        else "",
        "webhook_url": request.build_absolute_uri(
            reverse("integrations-api:shopify-webhook", kwargs={"source_id": source.id})
        ),
        "upload_form": CsvUploadForm(),
    }
    template = "integrations/source_detail.html"
    if request.htmx and request.GET.get("fragment") == "events":
        template += "#event-table"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


@login_required
@require_POST
@policy_page("jobs.run")
def source_sync(request, source_id: int):
    source = data_source_get_for_user(user=request.user, source_id=source_id)
    try:
        job, created = sync_job_start(source=source, user=request.user)
    except ApplicationError as exc:
        return render(request, "integrations/_job.html", {"error": exc.message}, status=422)
    return _job_response(request, job, "Sync started." if created else "A sync is already running.")


@login_required
@require_POST
@policy_page("sources.manage")
def source_delete(request, source_id: int):
    data_source_delete(source=data_source_get_for_user(user=request.user, source_id=source_id), user=request.user)
    url = reverse("integrations:source-list")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
@policy_page("jobs.run")
def dummy_data_generate(request, source_type: str):
    try:
        job = dummy_data_start(
            workspace=workspace_current_for_user(user=request.user), source_type=source_type, user=request.user
        )
    except ApplicationError as exc:
        return render(request, "integrations/_job.html", {"error": exc.message}, status=422)
    return _job_response(request, job, "Generating demo data…")


@login_required
@require_POST
@policy_page("jobs.run")
def demo_data_load(request):
    """The empty dashboard's "Load demo data": a store, its tag and its pixel, then back to the dashboard."""
    jobs = demo_data_start(workspace=workspace_current_for_user(user=request.user), user=request.user)
    done = all(job.status == job.Status.SUCCEEDED for job in jobs)
    messages.success(request, "Demo data loaded." if done else "Loading demo data: the dashboard fills up live.")
    return HttpResponseClientRedirect(reverse("accounts:dashboard")) if request.htmx else redirect("accounts:dashboard")


@login_required
def job_detail(request, job_id: int):
    job = job_get_for_user(user=request.user, job_id=job_id)
    return render(request, "integrations/_job.html", _job_context(request, job))


@login_required
@require_POST
@policy_page("jobs.run")
def job_retry_action(request, job_id: int):
    return _job_control(request, job_id, job_retry, "Job queued again; it resumes where it stopped.")


@login_required
@require_POST
@policy_page("jobs.run")
def job_cancel_action(request, job_id: int):
    return _job_control(request, job_id, job_cancel, "Job cancelled; what it stored so far is kept.")


def _job_control(request, job_id: int, service, done: str):
    job = job_get_for_user(user=request.user, job_id=job_id)
    try:
        job = service(job=job, user=request.user)
    except ApplicationError as exc:
        return _job_refused(request, job, exc)
    return _job_response(request, job, done)


def _job_refused(request, job, exc: ApplicationError):
    job.refresh_from_db()
    response = render(request, "integrations/_job.html", _job_context(request, job), status=422)
    return trigger_client_event(response, "toast", {"message": exc.message, "level": "error"})


@login_required
@require_POST
@policy_page("jobs.run")
def csv_upload(request, source_id: int):
    source = data_source_get_for_user(user=request.user, source_id=source_id)
    form = CsvUploadForm(request.POST, request.FILES)
    context = {"source": source, "upload_form": form}
    if not form.is_valid():
        return render(request, "integrations/_csv_preview.html", context, status=422)
    try:
        path = csv_upload_store(source=source, upload=form.cleaned_data["file"], user=request.user)
        preview = csv_preview(path=path)
    except ApplicationError as exc:
        form.add_error("file", exc.message)
        return render(request, "integrations/_csv_preview.html", context, status=422)
    initial = {"path": path, **{f"map_{key}": value for key, value in preview["mapping"].items()}}
    context.update(preview=preview, import_form=CsvImportForm(initial=initial, headers=preview["headers"]))
    return render(request, "integrations/_csv_preview.html", context)


@login_required
@require_POST
@policy_page("jobs.run")
def csv_import(request, source_id: int):
    source = data_source_get_for_user(user=request.user, source_id=source_id)
    path = request.POST.get("path", "")
    try:
        headers = (
            csv_preview(path=path, rows=0)["headers"] if path.startswith(f"csv-imports/{source.workspace_id}/") else []
        )
    except (ApplicationError, OSError):
        headers = []
    form = CsvImportForm(request.POST, headers=headers)
    if not form.is_valid() or not headers:
        return render(
            request, "integrations/_job.html", {"error": "The upload expired; upload the file again."}, status=422
        )
    if request.POST.get("action") == "preview":
        preview = csv_preview(path=path, mapping=form.mapping())
        context = {"source": source, "upload_form": CsvUploadForm(), "preview": preview, "import_form": form}
        return render(request, "integrations/_csv_preview.html", context)
    try:
        job = csv_import_start(source=source, path=path, mapping=form.mapping(), user=request.user)
    except ApplicationError as exc:
        return render(request, "integrations/_job.html", {"error": exc.message}, status=422)
    return _job_response(request, job, "Import started.")


@login_required
def customer_list(request):
    search = request.GET.get("q", "").strip()
    customers = _page(request, customer_list_for_user(user=request.user, search=search or None))
    template = "integrations/customer_list.html"
    if request.htmx:
        template += "#customer-table"
    response = render(request, template, {"customers": customers, "q": search})
    response["Vary"] = "HX-Request"
    return response


@login_required
def customer_detail(request, customer_id: int):
    customer = customer_get_for_user(user=request.user, customer_id=customer_id)
    context = {
        "customer": customer,
        "events": customer_recent_events(customer=customer, limit=50),
        "merges": identity_merges_for_customer(customer=customer),
        "can_undo_merges": policy_allows(user=request.user, workspace=customer.workspace_id, action="identities.undo"),
        **recommendations_block_context(request, customer=customer),
        "predictions": customer_predictions_data(customer=customer),
    }
    return render(request, "integrations/customer_detail.html", context)


@login_required
@require_POST
@policy_page("identities.undo")
def identity_merge_undo_action(request, customer_id: int, merge_id: int):
    """Undo a merge shown on a customer's page, then show that page again (the customer stays: it kept its key)."""
    customer = customer_get_for_user(user=request.user, customer_id=customer_id)
    merge = identity_merge_get_for_user(user=request.user, merge_id=merge_id)
    try:
        merge = identity_merge_undo(merge=merge, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        what = "Anonymous visitor" if merge.kind == merge.Kind.ANONYMOUS else "Customer"
        messages.success(request, f"{what} {merge.value} separated again; totals and segments are recomputed.")
    target = reverse("integrations:customer-detail", args=[customer.id])
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


@login_required
def send_data(request):
    """Copy-paste snippets for the GA4 tag, a Segment library and a Conversions API call, with the workspace's keys."""
    sources = data_source_list_for_user(user=request.user).filter(source_type__in=DataSource.PUSH_TYPES)
    by_type = {
        source_type: [s for s in sources if s.source_type == source_type] for source_type in DataSource.PUSH_TYPES
    }
    base = request.build_absolute_uri("/").rstrip("/")
    context = {
        "base": base,
        "gtm_sources": by_type[DataSource.SourceType.GTM],
        "segment_sources": by_type[DataSource.SourceType.SEGMENT],
        "pixel_sources": by_type[DataSource.SourceType.FACEBOOK_PIXEL],
        "graph_version": settings.META_GRAPH_VERSION,
        "limits": {
            "collect_mb": settings.COLLECT_MAX_BODY_BYTES / (1024 * 1024),
            "segment_batch_kb": settings.SEGMENT_MAX_BATCH_BYTES // 1024,
            "segment_call_kb": settings.SEGMENT_MAX_CALL_BYTES // 1024,
        },
    }
    return render(request, "integrations/send_data.html", context)
