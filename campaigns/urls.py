from django.urls import path
from django.views.generic import RedirectView

from . import views, views_publishing, views_settings

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("new/", views.campaign_new, name="campaign-new"),
    path(
        "from-recommendation/<int:recommendation_id>/", views.campaign_from_recommendation, name="from-recommendation"
    ),
    path("<int:campaign_id>/", views.campaign_detail, name="campaign-detail"),
    path("<int:campaign_id>/variants/<int:variant_id>/image/", views.variant_image, name="variant-image"),
    path("brand/assets/<int:asset_id>/file/", views.brand_asset_image, name="brand-asset-file"),
    path("<int:campaign_id>/generate/", views.campaign_generate, name="campaign-generate"),
    path("<int:campaign_id>/submit/", views.campaign_submit_page, name="campaign-submit"),
    path("<int:campaign_id>/status/", views.campaign_status, name="campaign-status"),
    path("<int:campaign_id>/metrics/", views.campaign_metrics_import, name="campaign-metrics"),
    path("<int:campaign_id>/publish/", views_publishing.campaign_publish, name="campaign-publish"),
    path(
        "<int:campaign_id>/posts/<int:publication_id>/cancel/",
        views_publishing.publication_cancel_page,
        name="publication-cancel",
    ),
    path(
        "<int:campaign_id>/posts/<int:publication_id>/retry/",
        views_publishing.publication_retry_page,
        name="publication-retry",
    ),
    path("media/<str:token>/", views_publishing.variant_image_public, name="variant-image-public"),
    path("approvals/<int:step_id>/decision/", views.approval_decision, name="approval-decision"),
    path("brand/", views_settings.brand_profile, name="brand-profile"),
    path("brand/assets/", views_settings.brand_asset_new, name="brand-asset-new"),
    path("usage/", RedirectView.as_view(pattern_name="ai:usage", permanent=True, query_string=True)),
]
