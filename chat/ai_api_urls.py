from django.urls import path

from . import ai_api

app_name = "ai-api"

urlpatterns = [
    path("ai/providers", ai_api.ProviderOrderApi.as_view(), name="providers"),
    path("ai/provider-keys", ai_api.ProviderKeyListApi.as_view(), name="provider-keys"),
    path("ai/provider-keys/<str:provider>", ai_api.ProviderKeyDetailApi.as_view(), name="provider-key-detail"),
    path("ai/provider-keys/<str:provider>/test", ai_api.ProviderKeyTestApi.as_view(), name="provider-key-test"),
    path("ai/usage", ai_api.AiUsageApi.as_view(), name="usage"),
    path("ai/intent", ai_api.IntentApi.as_view(), name="intent"),
    path("recommendations", ai_api.RecommendationListApi.as_view(), name="recommendation-list"),
    path("recommendations/generate", ai_api.RecommendationGenerateApi.as_view(), name="recommendation-generate"),
]
