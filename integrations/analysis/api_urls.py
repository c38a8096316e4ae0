from django.urls import path  # noqa: F401

app_name = "analytics-api"

urlpatterns: list = []
