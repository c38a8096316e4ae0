from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from integrations import tracking_api

api_patterns = [
    path("", include("accounts.api_urls")),
    path("", include("integrations.api_urls")),
    path("", include("integrations.analysis.api_urls")),
    path("", include("ai.api_urls")),
    path("", include("ai.files.api_urls")),
    path("", include("chat.api_urls")),
    path("", include("campaigns.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("", include("monitoring.urls")),  # /healthz, /readyz, /metrics and /admin/monitoring/ (before admin/)
    path("admin/", admin.site.urls),
    # Standard intake protocols at the paths their clients use (integrations/tracking_api.py).
    re_path(r"^v1/(?P<call>identify|track|page|screen|group|alias|batch|[itpsgab])$", tracking_api.segment_call),
    re_path(r"^(?P<version>v\d{1,3}\.\d{1,2})/(?P<pixel_id>\d{5,20})/events$", tracking_api.conversions_api_events),
    path("api/", include(api_patterns)),
    path("", include("accounts.urls")),
    path("sources/", include("integrations.urls")),
    path("analytics/", include("integrations.analysis.urls")),
    path("audiences/", include("integrations.audiences.urls")),
    path("chat/", include("chat.urls")),
    path("", include("ai.urls")),
    path("files/", include("ai.files.urls")),
    path("campaigns/", include("campaigns.urls")),
]

handler400 = "marketing_ai.errors.handler400"
handler403 = "marketing_ai.errors.handler403"
handler404 = "marketing_ai.errors.handler404"
handler500 = "marketing_ai.errors.handler500"
