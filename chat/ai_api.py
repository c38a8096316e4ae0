"""DRF endpoints of the AI core: provider order, provider keys, usage, intent, recommendations (DESIGN §4)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import workspace_current_for_user
from campaigns.recommendations import recommendation_list_for_user, recommendation_payload, recommendations_generate
from marketing_ai.errors import ApplicationError
from marketing_ai.pagination import PageNumberPagination

from .intent import intent_analyze
from .provider_keys import (
    KEYED_PROVIDERS,
    provider_key_delete,
    provider_key_list_for_user,
    provider_key_save,
    provider_key_test,
    provider_order_set,
    provider_settings_for_user,
)
from .providers.router import KNOWN_PROVIDERS
from .providers.usage import ai_rate_limit_check, usage_summary_for_workspace


class ProviderKeyOutput(serializers.Serializer):
    """A stored key as the API shows it: masked, never the secret."""

    provider = serializers.CharField()
    masked = serializers.CharField()
    lastFour = serializers.CharField(source="last_four")
    baseUrl = serializers.CharField(source="base_url")
    model = serializers.CharField()
    isActive = serializers.BooleanField(source="is_active")
    validatedAt = serializers.DateTimeField(source="validated_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


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


class ProviderOrderApi(APIView):
    class Input(serializers.Serializer):
        providers = serializers.ListField(
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


class ProviderKeyListApi(APIView):
    class Input(serializers.Serializer):
        provider = serializers.ChoiceField(choices=KEYED_PROVIDERS)
        secret = serializers.CharField(max_length=500, trim_whitespace=True)
        baseUrl = serializers.URLField(required=False, allow_blank=True, default="", max_length=200)
        model = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)

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
        )
        return Response(ProviderKeyOutput(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="ai_provider_keys_destroy_by_query",
        parameters=[OpenApiParameter("provider", str, required=True)],
        responses={204: None},
    )
    def delete(self, request):
        provider = request.query_params.get("provider") or (request.data or {}).get("provider")
        if not provider:
            raise ApplicationError(
                "Say which provider's key to delete.", errors={"provider": ["This field is required."]}
            )
        provider_key_delete(user=request.user, provider=str(provider))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProviderKeyDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, provider: str):
        provider_key_delete(user=request.user, provider=provider)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProviderKeyTestApi(APIView):
    @extend_schema(request=None, responses=KeyTestOutput)
    def post(self, request, provider: str):
        return Response(provider_key_test(user=request.user, provider=provider))


class AiUsageApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("days", int, description="Window in days (1-365, default 30).")],
        responses=inline_serializer(
            "AiUsageRow",
            {
                "provider": serializers.CharField(),
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
        try:
            days = int(request.query_params.get("days", 30))
        except ValueError:
            days = 0
        if not 1 <= days <= 365:
            raise ApplicationError("days must be a whole number from 1 to 365.", errors={"days": ["Out of range."]})
        workspace = workspace_current_for_user(user=request.user)
        return Response(usage_summary_for_workspace(workspace=workspace, days=days))


class IntentApi(APIView):
    class Input(serializers.Serializer):
        text = serializers.CharField(max_length=4000, trim_whitespace=True)

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


class RecommendationOutput(serializers.Serializer):
    """Documents `recommendation_payload` (campaigns.recommendations) for the schema."""

    id = serializers.IntegerField()
    segment = serializers.CharField()
    name = serializers.CharField()
    objective = serializers.CharField()
    channels = serializers.ListField(child=serializers.CharField())
    audienceSize = serializers.IntegerField()
    keyMessage = serializers.CharField()
    offer = serializers.CharField()
    timing = serializers.CharField()
    kpiTargets = serializers.DictField()
    rationale = serializers.CharField()
    evidence = serializers.ListField(child=serializers.DictField())
    provider = serializers.CharField()
    conversationId = serializers.IntegerField(allow_null=True)
    createdAt = serializers.DateTimeField()


class RecommendationListApi(APIView):
    @extend_schema(responses=RecommendationOutput(many=True))
    def get(self, request):
        recommendations = recommendation_list_for_user(user=request.user)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(recommendations, request, view=self)
        return paginator.get_paginated_response([recommendation_payload(r) for r in page])


class RecommendationGenerateApi(APIView):
    class Input(serializers.Serializer):
        dateFrom = serializers.DateField(required=False, source="date_from")
        dateTo = serializers.DateField(required=False, source="date_to")
        source = serializers.IntegerField(required=False, source="source_id", min_value=1)

        def validate(self, attrs):
            start, end = attrs.get("date_from"), attrs.get("date_to")
            if start and end and end < start:
                raise serializers.ValidationError({"dateTo": "dateTo must not be before dateFrom."})
            return attrs

    @extend_schema(
        request=Input,
        responses={
            201: inline_serializer(
                "RecommendationsGenerated",
                {
                    "type": serializers.CharField(),
                    "recommendations": RecommendationOutput(many=True),
                    "range": serializers.DictField(),
                    "provider": serializers.CharField(),
                },
            ),
            200: inline_serializer(
                "RecommendationsNoData", {"type": serializers.CharField(), "message": serializers.CharField()}
            ),
        },
    )
    def post(self, request):
        data = self.Input(data=request.data or {})
        data.is_valid(raise_exception=True)
        workspace = workspace_current_for_user(user=request.user)
        ai_rate_limit_check(workspace=workspace)
        result = recommendations_generate(workspace=workspace, user=request.user, **data.validated_data)
        code = status.HTTP_201_CREATED if result.get("recommendations") else status.HTTP_200_OK
        return Response(result, status=code)
