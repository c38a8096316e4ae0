"""HTML side of uploaded files: the signed download (no session needed: the token is the permission)."""

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from marketing_ai.errors import NotFound

from .runs import files_storage
from .signing import LinkExpired, file_for_download_token


@require_GET
def file_download(request: HttpRequest, token: str) -> HttpResponse:
    """The file a valid, unexpired signed token names, as an attachment; 404 otherwise."""
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
