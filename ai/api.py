"""DRF endpoints of the AI platform: provider order, provider keys, usage and cost, intent (DESIGN §4)."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import workspace_current_for_user
from accounts.serializers import StrictCharField
from marketing_ai.errors import ApplicationError

from .catalog import KEYED_PROVIDERS, KNOWN_PROVIDERS
from .choices import model_choices_for
from .intent.analysis import intent_analyze
from .keys import (
    provider_key_delete,
    provider_key_list_for_user,
    provider_key_save,
    provider_key_test,
    provider_order_set,
    provider_settings_for_user,
)
from .models import ProviderKey, UsageDailySummary
from .ratelimit import ai_rate_limit_check
from .usage import BREAKDOWNS, usage_daily_for_workspace, usage_summary_for_workspace, usage_totals


class ProviderKeyOutput(serializers.Serializer):
    """A stored key as the API shows it: masked, never the secret."""

    provider = serializers.CharField()
    scope = serializers.CharField()
    status = serializers.SerializerMethodField()
    masked = serializers.CharField()
    lastFour = serializers.CharField(source="last_four")
    baseUrl = serializers.CharField(source="base_url")
    model = serializers.CharField()
    isActive = serializers.BooleanField(source="is_active")
    models = serializers.ListField(source="model_ids", child=serializers.CharField())
    validatedAt = serializers.DateTimeField(source="validated_at", allow_null=True)
    invalidAt = serializers.DateTimeField(source="invalid_at", allow_null=True)
    invalidReason = serializers.CharField(source="invalid_reason")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_status(self, key) -> str:
        return "active" if key.is_active else "invalid"


SCOPE_PARAMETER = OpenApiParameter(
    "scope", str, enum=list(ProviderKey.Scope.values), description="workspace (default) or personal"
)


def _scope_of(request) -> str:
    return str(request.query_params.get("scope") or ProviderKey.Scope.WORKSPACE)


ProviderSettingsOutput = inline_serializer(
    "AiProviderSettings",
    {
        "providers": serializers.ListField(child=serializers.CharField()),
        "isWorkspaceOverride": serializers.BooleanField(),
        "default": serializers.ListField(child=serializers.CharField()),
        "available": serializers.ListField(child=serializers.CharField()),
    },
)
KeyTestOutput = inline_serializer(
    "AiProviderKeyTest",
    {"ok": serializers.BooleanField(), "provider": serializers.CharField(), "message": serializers.CharField()},
)


@extend_schema_field({"type": "array", "items": {"type": "string", "enum": list(KNOWN_PROVIDERS)}, "uniqueItems": True})
class ProviderOrderField(serializers.ListField):
    """The provider order: each provider at most once (ai.keys.provider_order_set refuses a repeat)."""


class ProviderOrderApi(APIView):
    class Input(serializers.Serializer):
        providers = ProviderOrderField(
            child=serializers.ChoiceField(choices=KNOWN_PROVIDERS), allow_empty=True, max_length=len(KNOWN_PROVIDERS)
        )

    @extend_schema(responses=ProviderSettingsOutput)
    def get(self, request):
        return Response(provider_settings_for_user(user=request.user))

    @extend_schema(request=Input, responses=ProviderSettingsOutput)
    def put(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        provider_order_set(user=request.user, providers=data.validated_data["providers"])
        return Response(provider_settings_for_user(user=request.user))


SECRET_CHARACTERS = "API keys contain only printable ASCII characters, without spaces."


class ProviderKeyListApi(APIView):
    class Input(serializers.Serializer):
        provider = serializers.ChoiceField(choices=KEYED_PROVIDERS)
        # What ai.keys.provider_key_save accepts, so the schema says it too: 8+ printable ASCII characters.
        secret = serializers.CharField(
            min_length=8,
            max_length=500,
            trim_whitespace=True,
            validators=[RegexValidator(r"^[!-~]+$", SECRET_CHARACTERS)],
            error_messages={"min_length": "Enter the full API key."},
        )
        baseUrl = serializers.URLField(required=False, allow_blank=True, default="", max_length=200)
        model = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
        scope = serializers.ChoiceField(choices=ProviderKey.Scope.values, default=ProviderKey.Scope.WORKSPACE)

    @extend_schema(responses=ProviderKeyOutput(many=True))
    def get(self, request):
        return Response(ProviderKeyOutput(provider_key_list_for_user(user=request.user), many=True).data)

    @extend_schema(request=Input, responses={201: ProviderKeyOutput})
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        key = provider_key_save(
            user=request.user,
            provider=values["provider"],
            secret=values["secret"],
            base_url=values["baseUrl"],
            model=values["model"],
            scope=values["scope"],
        )
        return Response(ProviderKeyOutput(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="ai_provider_keys_destroy_by_query",
        parameters=[OpenApiParameter("provider", str, required=True, enum=list(KEYED_PROVIDERS)), SCOPE_PARAMETER],
        responses={204: None},
    )
    def delete(self, request):
        provider = request.query_params.get("provider") or (request.data or {}).get("provider")
        if not provider:
            raise ApplicationError(
                "Say which provider's key to delete.", errors={"provider": ["This field is required."]}
            )
        provider_key_delete(user=request.user, provider=str(provider), scope=_scope_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProviderKeyDetailApi(APIView):
    @extend_schema(parameters=[SCOPE_PARAMETER], responses={204: None})
    def delete(self, request, provider: str):
        provider_key_delete(user=request.user, provider=provider, scope=_scope_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProviderKeyTestApi(APIView):
    @extend_schema(parameters=[SCOPE_PARAMETER], request=None, responses=KeyTestOutput)
    def post(self, request, provider: str):
        return Response(provider_key_test(user=request.user, provider=provider, scope=_scope_of(request)))


class AiUsageApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "days", {"type": "integer", "minimum": 1, "maximum": 365}, description="Window in days (default 30)."
            ),
            OpenApiParameter(
                "by", str, enum=list(BREAKDOWNS), description="Group by provider (default), model, feature or user."
            ),
        ],
        responses=inline_serializer(
            "AiUsageRow",
            {
                "provider": serializers.CharField(required=False),
                "model": serializers.CharField(required=False),
                "feature": serializers.CharField(required=False),
                "featureLabel": serializers.CharField(required=False),
                "userId": serializers.IntegerField(required=False, allow_null=True),
                "email": serializers.CharField(required=False),
                "name": serializers.CharField(required=False),
                "calls": serializers.IntegerField(),
                "tokensIn": serializers.IntegerField(),
                "tokensOut": serializers.IntegerField(),
                "cost": serializers.CharField(),
                "avgLatencyMs": serializers.IntegerField(),
                "errors": serializers.IntegerField(),
            },
            many=True,
        ),
    )
    def get(self, request):
        errors = {}
        try:
            days = int(request.query_params.get("days") or 30)  # absent or empty: the default
        except ValueError:
            days = 0
        if not 1 <= days <= 365:
            errors["days"] = ["A whole number from 1 to 365."]
        by = request.query_params.get("by") or "provider"  # absent or empty: the default
        if by not in BREAKDOWNS:
            errors["by"] = [f"Choose one of: {', '.join(BREAKDOWNS)}."]
        if errors:
            raise ApplicationError("Some fields are invalid.", errors=errors)
        workspace = workspace_current_for_user(user=request.user)
        return Response(usage_summary_for_workspace(workspace=workspace, days=days, by=by))


class ModelChoiceListApi(APIView):
    """The models the caller may pick per message (their workspace's providers and their own keys)."""

    @extend_schema(
        responses=inline_serializer(
            "AiModelChoice",
            {
                "id": serializers.CharField(),
                "provider": serializers.CharField(),
                "providerLabel": serializers.CharField(),
                "model": serializers.CharField(),
                "isDefault": serializers.BooleanField(),
                "personal": serializers.BooleanField(),
            },
            many=True,
        )
    )
    def get(self, request):
        workspace = workspace_current_for_user(user=request.user)
        return Response(model_choices_for(workspace=workspace, user=request.user))


class IntentApi(APIView):
    class Input(serializers.Serializer):
        text = StrictCharField(max_length=4000, trim_whitespace=True)

    @extend_schema(
        request=Input,
        responses=inline_serializer(
            "IntentResult",
            {
                "intent": serializers.CharField(),
                "confidence": serializers.FloatField(),
                "requiresAuth": serializers.BooleanField(),
                "module": serializers.CharField(),
                "action": serializers.CharField(),
                "entities": serializers.DictField(),
            },
        ),
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = workspace_current_for_user(user=request.user)
        ai_rate_limit_check(workspace=workspace)
        return Response(intent_analyze(text=data.validated_data["text"], workspace=workspace))


class UsageQuery(serializers.Serializer):
    from_ = serializers.DateField(required=False)
    to = serializers.DateField(required=False)

    def to_internal_value(self, data):
        data = {"from_": data.get("from"), "to": data.get("to")}
        return super().to_internal_value({k: v for k, v in data.items() if v not in (None, "")})

    def validate(self, attrs):
        if attrs.get("from_") and attrs.get("to") and attrs["to"] < attrs["from_"]:
            raise serializers.ValidationError({"to": "The end date must not be before the start date."})
        return attrs


class UsageDayOutput(serializers.ModelSerializer):
    tokensIn = serializers.IntegerField(source="tokens_in")
    tokensOut = serializers.IntegerField(source="tokens_out")
    avgLatencyMs = serializers.FloatField(source="avg_latency_ms")
    successRate = serializers.FloatField(source="success_rate")

    class Meta:
        model = UsageDailySummary
        fields = [
            "day",
            "provider",
            "requests",
            "successes",
            "successRate",
            "tokensIn",
            "tokensOut",
            "cost",
            "avgLatencyMs",
        ]


class UsageDailyApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("from", OpenApiTypes.DATE), OpenApiParameter("to", OpenApiTypes.DATE)],
        responses=inline_serializer(
            "UsageDaily",
            {
                "from": serializers.DateField(),
                "to": serializers.DateField(),
                "totals": serializers.DictField(),
                "results": UsageDayOutput(many=True),
            },
        ),
    )
    def get(self, request):
        query = UsageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        end = query.validated_data.get("to") or timezone.now().date()
        start = query.validated_data.get("from_") or end - timedelta(days=29)
        if (end - start).days > 366:
            raise ValidationError({"from": "Ask for at most 366 days at a time."})
        workspace = workspace_current_for_user(user=request.user)
        rows = list(usage_daily_for_workspace(workspace=workspace, start=start, end=end))
        totals = usage_totals(rows)
        totals["cost"] = str(totals["cost"])
        return Response({"from": start, "to": end, "totals": totals, "results": UsageDayOutput(rows, many=True).data})
