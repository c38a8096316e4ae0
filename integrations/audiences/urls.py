from django.urls import path

from . import views

app_name = "audiences"

urlpatterns = [
    path("", views.audience_list, name="audience-list"),
    path("new/", views.audience_new, name="audience-new"),
    path("<int:audience_id>/", views.audience_detail, name="audience-detail"),
    path("<int:audience_id>/edit/", views.audience_edit, name="audience-edit"),
    path("<int:audience_id>/refresh/", views.audience_refresh, name="audience-refresh"),
    path("<int:audience_id>/push/", views.audience_push, name="audience-push"),
    path("<int:audience_id>/delete/", views.audience_remove, name="audience-delete"),
]
