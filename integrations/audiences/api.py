"""REST API of saved audiences (DESIGN §4): CRUD, members, refresh, exports and pushes to Meta."""

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import StrictCharField
from integrations.audiences_out import audience_push_list_for_user, audience_push_start
from integrations.models import AudiencePush
from integrations.serializers import AudiencePushOutput, CustomerOutput
from marketing_ai.errors import ApplicationError
from marketing_ai.openapi import paginated
from marketing_ai.pagination import PageNumberPagination

from .exports import EXPORT_FORMATS, audience_export
from .models import Audience
from .rules import rules_describe
from .selectors import audience_customers, audience_get_for_user, audience_list_for_user, audience_size_history
from .services import audience_create, audience_delete, audience_refresh_start, audience_update


class AudienceOutput(serializers.ModelSerializer):
    ruleSummary = serializers.SerializerMethodField()
    refreshStatus = serializers.CharField(source="refresh_status")
    refreshError = serializers.CharField(source="refresh_error")
    refreshedAt = serializers.DateTimeField(source="refreshed_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Audience
        fields = [
            "id",
            "name",
            "description",
            "rules",
            "ruleSummary",
            "size",
            "refreshStatus",
            "refreshError",
            "refreshedAt",
            "createdAt",
            "updatedAt",
        ]

    def get_ruleSummary(self, audience: Audience) -> list[str]:  # noqa: N802 (camelCase on the wire)
        return rules_describe(audience.rules)


class SizePointOutput(serializers.Serializer):
    at = serializers.DateTimeField(source="measured_at")
    size = serializers.IntegerField()


class AudienceDetailOutput(AudienceOutput):
    sizeHistory = serializers.SerializerMethodField()

    class Meta(AudienceOutput.Meta):
        fields = [*AudienceOutput.Meta.fields, "sizeHistory"]

    @extend_schema_field(SizePointOutput(many=True))
    def get_sizeHistory(self, audience: Audience) -> list[dict]:  # noqa: N802
        return SizePointOutput(audience_size_history(audience=audience), many=True).data


class AudienceInput(serializers.Serializer):
    name = StrictCharField(max_length=200, allow_blank=True)
    description = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    rules = serializers.JSONField()


class AudienceListCreateApi(APIView):
    @extend_schema(responses=paginated(AudienceOutput), tags=["audiences"])
    def get(self, request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(audience_list_for_user(user=request.user), request, view=self)
        return paginator.get_paginated_response(AudienceOutput(page, many=True).data)

    @extend_schema(
        request=AudienceInput,
        responses={201: AudienceDetailOutput},
        tags=["audiences"],
        description="Rules: `{match: all|any, conditions: [...]}`; each condition is a segment (`segment`, `op` "
        "in|not_in, `days`), an event (`eventType`, `op` did|did_not, `days`), a customer total (`field` "
        "orders|revenue|events|lastSeenDays|firstSeenDays, `op` gt|gte|lt|lte|eq, `value`) or a prediction "
        "(`field` purchase30d|churnRisk|value90d|nextOrderDays). The first refresh is queued at once.",
    )
    def post(self, request) -> Response:
        data = AudienceInput(data=request.data)
        data.is_valid(raise_exception=True)
        audience = audience_create(user=request.user, **data.validated_data)
        audience.refresh_from_db()
        return Response(AudienceDetailOutput(audience).data, status=status.HTTP_201_CREATED)


class AudienceDetailApi(APIView):
    class PatchInput(serializers.Serializer):
        name = StrictCharField(max_length=200, required=False, allow_blank=True)
        description = StrictCharField(max_length=500, required=False, allow_blank=True)
        rules = serializers.JSONField(required=False)

    @extend_schema(responses=AudienceDetailOutput, tags=["audiences"])
    def get(self, request, audience_id: int) -> Response:
        return Response(AudienceDetailOutput(audience_get_for_user(user=request.user, audience_id=audience_id)).data)

    @extend_schema(request=PatchInput, responses=AudienceDetailOutput, tags=["audiences"])
    def patch(self, request, audience_id: int) -> Response:
        audience = audience_get_for_user(user=request.user, audience_id=audience_id)
        data = self.PatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        audience = audience_update(audience=audience, user=request.user, data=data.validated_data)
        audience.refresh_from_db()
        return Response(AudienceDetailOutput(audience).data)

    @extend_schema(responses={204: None}, tags=["audiences"])
    def delete(self, request, audience_id: int) -> Response:
        audience_delete(audience=audience_get_for_user(user=request.user, audience_id=audience_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AudienceMemberListApi(APIView):
    @extend_schema(
        responses=paginated(CustomerOutput),
        parameters=[OpenApiParameter("page", int), OpenApiParameter("pageSize", int)],
        tags=["audiences"],
        description="The members at the last refresh, most valuable first.",
    )
    def get(self, request, audience_id: int) -> Response:
        audience = audience_get_for_user(user=request.user, audience_id=audience_id)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(audience_customers(audience=audience), request, view=self)
        return paginator.get_paginated_response(CustomerOutput(page, many=True).data)


class AudienceRefreshApi(APIView):
    @extend_schema(request=None, responses={202: AudienceDetailOutput}, tags=["audiences"])
    def post(self, request, audience_id: int) -> Response:
        audience = audience_get_for_user(user=request.user, audience_id=audience_id)
        audience = audience_refresh_start(audience=audience, user=request.user)
        return Response(AudienceDetailOutput(audience).data, status=status.HTTP_202_ACCEPTED)


class FileFormatNegotiation(DefaultContentNegotiation):
    """`?format=` names the file here (DESIGN §4), not DRF's renderer: answers (errors included) are JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AudienceExportApi(APIView):
    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(EXPORT_FORMATS))],
        responses={(200, "text/csv"): str},
        tags=["audiences"],
        description="`csv`: every member with totals; `hashed`: `email,fn,ln` SHA-256 after Meta's normalization "
        "(a Meta customer file); `klaviyo` / `mailchimp`: contact files those tools import without mapping.",
    )
    def get(self, request, audience_id: int):
        audience = audience_get_for_user(user=request.user, audience_id=audience_id)
        export_format = request.query_params.get("format", "csv")
        if export_format not in EXPORT_FORMATS:
            raise ApplicationError(
                "Some fields are invalid.", errors={"format": [f"Use one of: {', '.join(EXPORT_FORMATS)}."]}
            )
        lines = audience_export(user=request.user, audience=audience, export_format=export_format)
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        filename = f"audience-{audience.id}-{export_format}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class AudiencePushApi(APIView):
    class Input(serializers.Serializer):
        audienceId = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
        mode = serializers.ChoiceField(choices=AudiencePush.Mode.choices, default=AudiencePush.Mode.ADD)

    @extend_schema(responses=AudiencePushOutput(many=True), tags=["audiences"])
    def get(self, request, audience_id: int) -> Response:
        audience = audience_get_for_user(user=request.user, audience_id=audience_id)
        pushes = audience_push_list_for_user(user=request.user, audience_id=audience.id)[:20]
        return Response(AudiencePushOutput(pushes, many=True).data)

    @extend_schema(
        request=Input,
        responses={202: AudiencePushOutput},
        tags=["audiences"],
        description="Upload the members of the last refresh to a Meta Custom Audience (`audienceId`), or to a new "
        "one in the ad account of the workspace's Meta source; hashed per Meta's rules, 10,000 rows per request.",
    )
    def post(self, request, audience_id: int) -> Response:
        audience = audience_get_for_user(user=request.user, audience_id=audience_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        push = audience_push_start(
            user=request.user,
            audience=audience,
            platform_audience_id=data.validated_data["audienceId"],
            mode=data.validated_data["mode"],
        )
        push.refresh_from_db()
        return Response(AudiencePushOutput(push).data, status=status.HTTP_202_ACCEPTED)
