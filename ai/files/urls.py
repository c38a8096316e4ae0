from django.urls import path

from . import views

app_name = "files"

urlpatterns = [
    path("", views.files_page, name="file-list"),
    path("upload", views.file_upload_view, name="file-upload"),
    path("<int:file_id>/", views.file_detail, name="file-detail"),
    path("<int:file_id>/reanalyse", views.file_reanalyse_view, name="file-reanalyse"),
    path("<int:file_id>/delete", views.file_delete_view, name="file-delete"),
    path("download/<str:token>", views.file_download, name="file-download"),
]
