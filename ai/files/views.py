"""The Files pages (HTMX): the list with the upload form and live progress, one file's results, reanalyse and
delete, and the signed download (no session needed there: the token is the permission).

Thin views: parse the form, call one selector or service, render the page or its fragment.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts.policy import policy_page
from accounts.selectors import workspace_current_for_user
from marketing_ai.errors import ApplicationError, NotFound

from .forms import FileUploadForm
from .models import FileUpload
from .runs import files_storage
from .selectors import (
    file_get_for_user,
    file_list_for_user,
    file_passages_for_upload,
    file_storage_used,
    user_can_write_files,
)
from .services import file_delete, file_reanalyse, file_upload
from .signing import LinkExpired, file_download_url, file_for_download_token

LIST_TEMPLATE = "files/files.html"
DETAIL_TEMPLATE = "files/file_detail.html"
PAGE_SIZE = 20
PASSAGES_SHOWN = 30


def _list_context(request: HttpRequest, *, form: FileUploadForm | None = None, error: str = "") -> dict:
    uploads = file_list_for_user(user=request.user)
    page = Paginator(uploads, PAGE_SIZE).get_page(request.GET.get("page"))
    workspace = workspace_current_for_user(user=request.user)
    return {
        "page": page,
        "uploads": page.object_list,
        "form": form or FileUploadForm(),
        "error": error,
        "can_write": user_can_write_files(user=request.user),
        "used": file_storage_used(workspace=workspace),
        "quota": settings.FILES_WORKSPACE_QUOTA_BYTES,
        "max_bytes": settings.FILES_MAX_BYTES,
        "busy": any(not upload.is_done for upload in page.object_list),
    }


@login_required
def files_page(request: HttpRequest) -> HttpResponse:
    """The list of uploads (status, progress, summary) and, for editors, the upload form."""
    template = LIST_TEMPLATE + ("#file-list" if request.htmx and request.GET.get("fragment") == "list" else "")
    response = render(request, template, _list_context(request))
    response["Vary"] = "HX-Request"
    return response


@login_required
@require_POST
@policy_page("files.upload")
def file_upload_view(request: HttpRequest) -> HttpResponse:
    form = FileUploadForm(request.POST, request.FILES)
    error = ""
    if form.is_valid():
        try:
            upload = file_upload(user=request.user, uploaded=form.cleaned_data["file"])
        except ApplicationError as exc:
            error = exc.message
        else:
            message = f"{upload.name} uploaded: the analysis is under way."
            if not request.htmx:
                return redirect("files:file-list")
            response = render(request, LIST_TEMPLATE + "#uploads", _list_context(request))
            return trigger_client_event(response, "toast", {"message": message, "level": "success"})
    context = _list_context(request, form=form, error=error)
    return render(request, LIST_TEMPLATE + ("#uploads" if request.htmx else ""), context, status=422)


@login_required
def file_detail(request: HttpRequest, file_id: int) -> HttpResponse:
    """One file: status and progress, the stored analysis, the column profile or the document's passages."""
    upload = file_get_for_user(user=request.user, file_id=file_id)
    context = {
        "upload": upload,
        "passages": file_passages_for_upload(upload=upload, limit=PASSAGES_SHOWN)
        if upload.status == FileUpload.Status.SUCCEEDED
        else [],
        "passages_shown": PASSAGES_SHOWN,
        "download_url": file_download_url(upload=upload),
        "url_max_age_minutes": max(1, settings.FILES_URL_MAX_AGE // 60),
        "can_write": user_can_write_files(user=request.user),
    }
    template = DETAIL_TEMPLATE + ("#file-status" if request.htmx and request.GET.get("fragment") == "status" else "")
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


@login_required
@require_POST
@policy_page("files.upload")
def file_reanalyse_view(request: HttpRequest, file_id: int) -> HttpResponse:
    upload = file_get_for_user(user=request.user, file_id=file_id)
    url = reverse("files:file-detail", args=[upload.id])
    try:
        file_reanalyse(user=request.user, upload=upload)
    except ApplicationError as exc:
        if not request.htmx:
            return redirect(url)
        response = HttpResponse(status=204)
        return trigger_client_event(response, "toast", {"message": exc.message, "level": "error"})
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
@policy_page("files.upload")
def file_delete_view(request: HttpRequest, file_id: int) -> HttpResponse:
    upload = file_get_for_user(user=request.user, file_id=file_id)
    file_delete(user=request.user, upload=upload)
    url = reverse("files:file-list")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_GET
def file_download(request: HttpRequest, token: str) -> HttpResponse:
    """The file a valid, unexpired signed token names, as an attachment; 410 once expired, 404 otherwise."""
    try:
        upload = file_for_download_token(token=token)
        stream = files_storage().open(upload.storage_name, "rb")
    except LinkExpired:
        return render(request, "files/link_expired.html", status=410)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except FileNotFoundError:
        raise Http404("The stored file is missing.") from None
    response = FileResponse(stream, as_attachment=True, filename=upload.name, content_type=upload.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
