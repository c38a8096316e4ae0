from django.urls import path

from . import ai_views

app_name = "ai"

urlpatterns = [
    path("", ai_views.ai_settings, name="settings"),
    path("order", ai_views.ai_provider_order, name="provider-order"),
    path("keys", ai_views.ai_provider_key_save, name="provider-key-save"),
    path("keys/<str:provider>/delete", ai_views.ai_provider_key_delete, name="provider-key-delete"),
    path("keys/<str:provider>/test", ai_views.ai_provider_key_test, name="provider-key-test"),
]
