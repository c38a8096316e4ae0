from django.urls import path

from . import api
from .predictions import api as predictions

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
    path("models", predictions.ModelListApi.as_view(), name="model-list"),
    path("models/train", predictions.ModelTrainApi.as_view(), name="model-train"),
    path("models/<int:model_id>", predictions.ModelDetailApi.as_view(), name="model-detail"),
    path("models/<int:model_id>/activate", predictions.ModelActivateApi.as_view(), name="model-activate"),
]
