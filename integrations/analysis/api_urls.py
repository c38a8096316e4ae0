from django.urls import path

from .apis import AnalyticsOverviewApi, SegmentCustomerListApi, SegmentExportApi, SegmentMetaAudienceApi

app_name = "analytics-api"

urlpatterns = [
    path("analytics/overview", AnalyticsOverviewApi.as_view(), name="overview"),
    path("analytics/segments/<str:name>/customers", SegmentCustomerListApi.as_view(), name="segment-customers"),
    path("analytics/segments/<str:name>/customers/export", SegmentExportApi.as_view(), name="segment-export"),
    path("analytics/segments/<str:name>/meta-audience", SegmentMetaAudienceApi.as_view(), name="segment-meta-audience"),
]
