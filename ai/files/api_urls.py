from django.urls import path

from . import api

app_name = "files-api"

urlpatterns = [
    path("files", api.FileListApi.as_view(), name="file-list"),
    path("files/<int:file_id>", api.FileDetailApi.as_view(), name="file-detail"),
    path("files/<int:file_id>/reanalyse", api.FileReanalyseApi.as_view(), name="file-reanalyse"),
    path("files/<int:file_id>/link", api.FileLinkApi.as_view(), name="file-link"),
]
