from django.urls import path

from . import api, api_publishing

app_name = "campaigns-api"

urlpatterns = [
    path("campaigns", api.CampaignListCreateApi.as_view(), name="campaign-list"),
    path(
        "campaigns/from-recommendation/<int:recommendation_id>",
        api.CampaignFromRecommendationApi.as_view(),
        name="campaign-from-recommendation",
    ),
    path("campaigns/<int:campaign_id>", api.CampaignDetailApi.as_view(), name="campaign-detail"),
    path("campaigns/<int:campaign_id>/content", api.CampaignContentApi.as_view(), name="campaign-content"),
    path("campaigns/<int:campaign_id>/variants", api.CampaignVariantListApi.as_view(), name="campaign-variants"),
    path("campaigns/<int:campaign_id>/submit", api.CampaignSubmitApi.as_view(), name="campaign-submit"),
    path("campaigns/<int:campaign_id>/metrics", api.CampaignMetricsApi.as_view(), name="campaign-metrics"),
    path(
        "campaigns/<int:campaign_id>/variants/<int:variant_id>/publish",
        api_publishing.VariantPublishApi.as_view(),
        name="variant-publish",
    ),
    path(
        "campaigns/<int:campaign_id>/publications",
        api_publishing.CampaignPublicationListApi.as_view(),
        name="campaign-publications",
    ),
    path(
        "publications/<int:publication_id>/cancel",
        api_publishing.PublicationCancelApi.as_view(),
        name="publication-cancel",
    ),
    path(
        "publications/<int:publication_id>/retry",
        api_publishing.PublicationRetryApi.as_view(),
        name="publication-retry",
    ),
    path(
        "publications/<int:publication_id>/metrics",
        api_publishing.PublicationMetricsSyncApi.as_view(),
        name="publication-metrics",
    ),
    path("content-jobs/<int:job_id>", api.ContentJobDetailApi.as_view(), name="content-job-detail"),
    path("approvals/<int:step_id>/decision", api.ApprovalDecisionApi.as_view(), name="approval-decision"),
    path("brand-profile", api.BrandProfileApi.as_view(), name="brand-profile"),
    path("brand-assets", api.BrandAssetCreateApi.as_view(), name="brand-assets"),
    path("recommendations", api.RecommendationListApi.as_view(), name="recommendation-list"),
    path("recommendations/generate", api.RecommendationGenerateApi.as_view(), name="recommendation-generate"),
]
