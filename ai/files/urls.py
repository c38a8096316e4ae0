from django.urls import path

from . import views

app_name = "files"

urlpatterns = [
    path("download/<str:token>", views.file_download, name="file-download"),
]
