"""OpenAPI generation: our authentication schemes, and unique names for nested `Input`/`Output` serializers."""

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import force_instance
from rest_framework import serializers

from marketing_ai.openapi import PAGINATED


class AutoSchema(openapi.AutoSchema):
    """Names `LoginApi.Input` as `LoginInput`, so every view's nested serializers get their own component."""

    def get_serializer_name(self, serializer, direction) -> str:
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if outer and "<locals>" not in outer:
            return outer.rpartition(".")[2].removesuffix("Api") + inner
        return super().get_serializer_name(serializer, direction)

    def _get_serializer_field_meta(self, field, direction):
        """A declared field over a nullable model column (`startsAt = DateTimeField(source="starts_at")`) answers
        null as the column does, so its response schema says so."""
        meta = super()._get_serializer_field_meta(field, direction)
        if direction == "response" and _model_column_nullable(field):
            meta["nullable"] = True
        return meta

    def get_operation_id(self) -> str:
        """A GET answering a page (marketing_ai.openapi.paginated) is a list, like a GET answering an array."""
        operation_id = super().get_operation_id()
        responses = self.get_response_serializers()
        page = responses.get(200) if isinstance(responses, dict) else responses
        if self.method == "GET" and any(page is paginated for paginated in PAGINATED.values()):
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def map_parsers(self) -> list[str]:
        """The API's bodies are JSON (DESIGN §4); only an operation that takes a file documents multipart."""
        serializer = force_instance(self.get_request_serializer())
        fields = getattr(serializer, "fields", {})
        if any(isinstance(field, serializers.FileField) for field in fields.values()):
            return ["multipart/form-data"]
        return ["application/json"]


def _model_column_nullable(field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source or field.source == "*":
        return False
    try:
        return model._meta.get_field(field.source).null
    except FieldDoesNotExist:
        return False


class SessionJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SessionJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Access token from auth/login, auth/register or auth/refresh (15 minutes).",
        }


class CsrfSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.CsrfSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
