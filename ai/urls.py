from django.urls import path

from . import views
from .predictions import views as predictions

app_name = "ai"

urlpatterns = [
    path("settings/ai/", views.ai_settings, name="settings"),
    path("settings/ai/order", views.ai_provider_order, name="provider-order"),
    path("settings/ai/keys", views.ai_provider_key_save, name="provider-key-save"),
    path("settings/ai/keys/<str:provider>/delete", views.ai_provider_key_delete, name="provider-key-delete"),
    path("settings/ai/keys/<str:provider>/test", views.ai_provider_key_test, name="provider-key-test"),
    path("usage/", views.usage, name="usage"),
    path("predictions/", predictions.predictions, name="predictions"),
    path("predictions/train", predictions.predictions_train, name="predictions-train"),
    path("predictions/<int:model_id>/activate", predictions.predictions_activate, name="predictions-activate"),
]
