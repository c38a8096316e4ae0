from django.urls import path

from . import views
from .recommendations import views as recommendation_views

app_name = "integrations"

urlpatterns = [
    path("", views.source_list, name="source-list"),
    path("new/", views.source_create, name="source-create"),
    path("send-data/", views.send_data, name="send-data"),
    path("dummy/<str:source_type>/", views.dummy_data_generate, name="dummy-data"),
    path("demo-data/", views.demo_data_load, name="demo-data"),
    path("jobs/<int:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/retry/", views.job_retry_action, name="job-retry"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel_action, name="job-cancel"),
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer-detail"),
    path(
        "customers/<int:customer_id>/merges/<int:merge_id>/undo/",
        views.identity_merge_undo_action,
        name="identity-merge-undo",
    ),
    path("recommendations/", recommendation_views.product_recommendations, name="product-recommendations"),
    path(
        "recommendations/refresh/",
        recommendation_views.product_recommendations_refresh,
        name="product-recommendations-refresh",
    ),
    path("<int:source_id>/", views.source_detail, name="source-detail"),
    path("<int:source_id>/sync/", views.source_sync, name="source-sync"),
    path("<int:source_id>/delete/", views.source_delete, name="source-delete"),
    path("<int:source_id>/csv/", views.csv_upload, name="csv-upload"),
    path("<int:source_id>/csv/import/", views.csv_import, name="csv-import"),
]
