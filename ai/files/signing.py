"""Short-lived download links: files are never served by path, only through a signed, expiring token.

A token names one upload of one workspace and is valid for FILES_URL_MAX_AGE seconds; whoever holds it may
download that file until then (like an S3 pre-signed URL), so links are handed only to members who may read it.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from marketing_ai.errors import ApplicationError, NotFound

from .models import FileUpload

SALT = "ai.files.download"


class LinkExpired(ApplicationError):
    status = 410


def file_download_token(*, upload: FileUpload) -> str:
    return signing.dumps({"f": upload.id, "w": upload.workspace_id}, salt=SALT, compress=True)


def file_download_url(*, upload: FileUpload) -> str:
    """The signed path of the file's download, valid for FILES_URL_MAX_AGE seconds from now."""
    return reverse("files:file-download", kwargs={"token": file_download_token(upload=upload)})


def file_for_download_token(*, token: str) -> FileUpload:
    """The upload a valid, unexpired token names; LinkExpired (410) once expired, NotFound (404) for an altered
    token or a file deleted since."""
    try:
        claims = signing.loads(token, salt=SALT, max_age=settings.FILES_URL_MAX_AGE)
        upload_id, workspace_id = int(claims["f"]), int(claims["w"])
    except signing.SignatureExpired:
        raise LinkExpired("This download link has expired; open the file again for a new one.") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound() from None
    upload = FileUpload.objects.filter(id=upload_id, workspace_id=workspace_id).first()
    if upload is None:
        raise NotFound()
    return upload
