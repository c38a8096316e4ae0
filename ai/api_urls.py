from django.urls import path

from . import api

app_name = "ai-api"

urlpatterns = [
    path("ai/providers", api.ProviderOrderApi.as_view(), name="providers"),
    path("ai/provider-keys", api.ProviderKeyListApi.as_view(), name="provider-keys"),
    path("ai/provider-keys/<str:provider>", api.ProviderKeyDetailApi.as_view(), name="provider-key-detail"),
    path("ai/provider-keys/<str:provider>/test", api.ProviderKeyTestApi.as_view(), name="provider-key-test"),
    path("ai/models", api.ModelChoiceListApi.as_view(), name="models"),
    path("ai/usage", api.AiUsageApi.as_view(), name="usage"),
    path("ai/intent", api.IntentApi.as_view(), name="intent"),
    path("usage/daily", api.UsageDailyApi.as_view(), name="usage-daily"),
]
