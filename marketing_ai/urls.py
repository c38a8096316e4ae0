from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_patterns = [
    path("", include("accounts.api_urls")),
    path("", include("integrations.api_urls")),
    path("", include("integrations.analysis.api_urls")),
    path("", include("ai.api_urls")),
    path("", include("chat.api_urls")),
    path("", include("campaigns.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("", include("accounts.urls")),
    path("sources/", include("integrations.urls")),
    path("analytics/", include("integrations.analysis.urls")),
    path("chat/", include("chat.urls")),
    path("", include("ai.urls")),
    path("campaigns/", include("campaigns.urls")),
]

handler400 = "marketing_ai.errors.handler400"
handler403 = "marketing_ai.errors.handler403"
handler404 = "marketing_ai.errors.handler404"
handler500 = "marketing_ai.errors.handler500"
