"""DRF endpoints for uploaded files (DESIGN §4): list, upload (multipart `file`), detail with a signed link,
reanalyse, delete."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from marketing_ai.openapi import paginated
from marketing_ai.pagination import PageNumberPagination

from .selectors import file_get_for_user, file_list_for_user
from .services import file_delete, file_reanalyse, file_upload
from .signing import file_download_url


class AnalysisOutput(serializers.Serializer):
    summary = serializers.CharField()
    facts = serializers.ListField(child=serializers.CharField())
    actions = serializers.ListField(child=serializers.CharField())


class FileOutput(serializers.Serializer):
    """A file as lists show it: its state and stored analysis, no profile and no link."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    contentType = serializers.CharField(source="content_type")
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    error = serializers.CharField()
    analysis = serializers.SerializerMethodField()
    analysisProvider = serializers.CharField(source="analysis_provider")
    uploadedBy = serializers.EmailField(source="uploaded_by.email", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    @extend_schema_field(AnalysisOutput(allow_null=True))
    def get_analysis(self, upload) -> dict | None:
        return AnalysisOutput(upload.analysis).data if upload.analysis else None


class FileDetailOutput(FileOutput):
    """One file: also its profile and a download link valid for `urlExpiresIn` seconds."""

    profile = serializers.JSONField()
    url = serializers.SerializerMethodField()
    urlExpiresIn = serializers.SerializerMethodField()

    def get_url(self, upload) -> str:
        return self.context["request"].build_absolute_uri(file_download_url(upload=upload))

    def get_urlExpiresIn(self, upload) -> int:  # noqa: N802 (camelCase on the wire)
        return settings.FILES_URL_MAX_AGE


JobOutput = inline_serializer(
    "FileAnalysisJob",
    {
        "status": serializers.CharField(),
        "progress": serializers.IntegerField(),
        "statusUrl": serializers.CharField(),
    },
)
UploadOutput = inline_serializer("FileUploaded", {"file": FileDetailOutput(), "job": JobOutput})


def _detail(request, upload) -> dict:
    return FileDetailOutput(upload, context={"request": request}).data


def _job(request, upload) -> dict:
    return {
        "status": upload.status,
        "progress": upload.progress,
        "statusUrl": request.build_absolute_uri(f"/api/files/{upload.id}"),
    }


class FileListApi(APIView):
    parser_classes = [MultiPartParser]

    class Input(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)

    @extend_schema(responses=paginated(FileOutput))
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(file_list_for_user(user=request.user), request, view=self)
        return paginator.get_paginated_response(FileOutput(page, many=True).data)

    @extend_schema(request={"multipart/form-data": Input}, responses={201: UploadOutput})
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        upload = file_upload(user=request.user, uploaded=data.validated_data["file"])
        upload.refresh_from_db()  # the analysis may already have run (embedded mode runs jobs inline)
        return Response(
            {"file": _detail(request, upload), "job": _job(request, upload)}, status=status.HTTP_201_CREATED
        )


class FileDetailApi(APIView):
    @extend_schema(responses=FileDetailOutput)
    def get(self, request, file_id: int):
        return Response(_detail(request, file_get_for_user(user=request.user, file_id=file_id)))

    @extend_schema(responses={204: None})
    def delete(self, request, file_id: int):
        file_delete(user=request.user, upload=file_get_for_user(user=request.user, file_id=file_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class FileReanalyseApi(APIView):
    @extend_schema(request=None, responses={202: UploadOutput})
    def post(self, request, file_id: int):
        upload = file_reanalyse(user=request.user, upload=file_get_for_user(user=request.user, file_id=file_id))
        upload.refresh_from_db()
        return Response(
            {"file": _detail(request, upload), "job": _job(request, upload)}, status=status.HTTP_202_ACCEPTED
        )


class FileLinkApi(APIView):
    @extend_schema(
        responses=inline_serializer(
            "FileLink", {"url": serializers.CharField(), "expiresIn": serializers.IntegerField()}
        )
    )
    def get(self, request, file_id: int):
        upload = file_get_for_user(user=request.user, file_id=file_id)
        url = request.build_absolute_uri(file_download_url(upload=upload))
        return Response({"url": url, "expiresIn": settings.FILES_URL_MAX_AGE})
