from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("segments/<str:name>/", views.segment_customers, name="segment-customers"),
    path("segments/<str:name>/push/", views.segment_push, name="segment-push"),
]
