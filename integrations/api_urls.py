from django.urls import path

from . import api, collect
from .audiences import api as audiences
from .recommendations import api as recommendations_api

app_name = "integrations-api"

urlpatterns = [
    path("data-sources", api.DataSourceListCreateApi.as_view(), name="source-list"),
    path("data-sources/dummy-data/bulk/<str:source_type>", api.DummyDataApi.as_view(), name="dummy-data"),
    path("data-sources/<int:source_id>", api.DataSourceDetailApi.as_view(), name="source-detail"),
    path("data-sources/<int:source_id>/sync", api.DataSourceSyncApi.as_view(), name="source-sync"),
    path("data-sources/<int:source_id>/csv", api.CsvUploadApi.as_view(), name="source-csv"),
    path("jobs/<int:job_id>", api.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/retry", api.JobRetryApi.as_view(), name="job-retry"),
    path("jobs/<int:job_id>/cancel", api.JobCancelApi.as_view(), name="job-cancel"),
    path("events", api.EventListApi.as_view(), name="event-list"),
    path("customers", api.CustomerListApi.as_view(), name="customer-list"),
    path("customers/<int:customer_id>", api.CustomerDetailApi.as_view(), name="customer-detail"),
    path("identity-merges/<int:merge_id>/undo", api.IdentityMergeUndoApi.as_view(), name="identity-merge-undo"),
    path(
        "product-recommendations",
        recommendations_api.ProductRecommendationListApi.as_view(),
        name="product-recommendation-list",
    ),
    path(
        "product-recommendations/state",
        recommendations_api.ProductRecommendationStateApi.as_view(),
        name="product-recommendation-state",
    ),
    path(
        "product-recommendations/refresh",
        recommendations_api.ProductRecommendationRefreshApi.as_view(),
        name="product-recommendation-refresh",
    ),
    path("audience-pushes", api.AudiencePushListCreateApi.as_view(), name="audience-push-list"),
    path("audience-pushes/<int:push_id>", api.AudiencePushDetailApi.as_view(), name="audience-push-detail"),
    path("audiences", audiences.AudienceListCreateApi.as_view(), name="audience-list"),
    path("audiences/<int:audience_id>", audiences.AudienceDetailApi.as_view(), name="audience-detail"),
    path("audiences/<int:audience_id>/members", audiences.AudienceMemberListApi.as_view(), name="audience-members"),
    path("audiences/<int:audience_id>/refresh", audiences.AudienceRefreshApi.as_view(), name="audience-refresh"),
    path("audiences/<int:audience_id>/export", audiences.AudienceExportApi.as_view(), name="audience-export"),
    path("audiences/<int:audience_id>/pushes", audiences.AudiencePushApi.as_view(), name="audience-pushes"),
    path("collect/<str:write_key>", collect.collect, name="collect"),
    path("webhooks/shopify/<int:source_id>", collect.shopify_webhook, name="shopify-webhook"),
]
