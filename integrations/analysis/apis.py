"""Analytics API (DESIGN §4): overview, segment audiences, CSV and Meta custom-audience exports. Thin views."""

from datetime import timedelta

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import workspace_current_for_user
from marketing_ai.openapi import errors, paginated
from marketing_ai.pagination import PageNumberPagination

from .audiences import (
    CONTACT_COLUMNS,
    segment_customer_list,
    segment_export_lines,
    segment_members_describe,
    segment_rule_get,
)
from .forms import MAX_RANGE_DAYS
from .queries import SEGMENTS
from .selectors import analysis_overview

ERRORS = errors(400, 401, 404)

SEGMENT_NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(SEGMENTS), description="The segment."
)
RANGE_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (inclusive); default 29 days before `to`."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (inclusive); default today."),
    OpenApiParameter(
        "source", {"type": "integer", "minimum": 1}, description="Only events of this data source (of the workspace)."
    ),
]


class AnalysisFilterInput(serializers.Serializer):
    """`?from=&to=&source=`; `from`/`to` are Python keywords, hence `get_fields`."""

    def get_fields(self):
        return {
            "from": serializers.DateField(required=False),
            "to": serializers.DateField(required=False),
            "source": serializers.IntegerField(required=False, min_value=1),
        }

    def validate(self, attrs):
        date_from, date_to = attrs.get("from"), attrs.get("to")
        if date_from and date_to:
            if date_to < date_from:
                raise serializers.ValidationError({"to": ["`to` must not be before `from`."]})
            if (date_to - date_from) >= timedelta(days=MAX_RANGE_DAYS):
                raise serializers.ValidationError({"from": [f"The range may span at most {MAX_RANGE_DAYS} days."]})
        return attrs

    def filters(self) -> dict:
        data = self.validated_data
        return {"date_from": data.get("from"), "date_to": data.get("to"), "source_id": data.get("source")}


def analysis_filters(request: Request) -> dict:
    """Validated filters of the query string (400 in the error shape when invalid)."""
    serializer = AnalysisFilterInput(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.filters()


class AnalyticsOverviewApi(APIView):
    @extend_schema(
        operation_id="analytics_overview",
        parameters=RANGE_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        tags=["analytics"],
        description="Segments, revenue/orders/AOV, events by type and source, daily series, engagement and the "
        "conversion funnel (with the previous period) of the current workspace, computed in the database.",
    )
    def get(self, request: Request) -> Response:
        workspace = workspace_current_for_user(user=request.user)
        return Response(analysis_overview(workspace=workspace, **analysis_filters(request)))


class SegmentMemberOutput(serializers.Serializer):
    customerKey = serializers.CharField()
    customerId = serializers.IntegerField(allow_null=True)
    email = serializers.CharField()
    firstName = serializers.CharField()
    lastName = serializers.CharField()
    events = serializers.IntegerField()
    firstSeenAt = serializers.DateTimeField()
    lastSeenAt = serializers.DateTimeField()
    why = serializers.DictField(help_text="The aggregates that put the customer in the segment.")
    reason = serializers.CharField()


class SegmentCustomerListApi(APIView):
    @extend_schema(
        operation_id="analytics_segment_customers",
        parameters=[SEGMENT_NAME, *RANGE_PARAMETERS],
        responses={200: paginated(SegmentMemberOutput), **ERRORS},
        tags=["analytics"],
        description="The customers of a segment (paginated, `?page=&pageSize=`), each with why it is in it.",
    )
    def get(self, request: Request, name: str) -> Response:
        workspace = workspace_current_for_user(user=request.user)
        segment_rule_get(name=name)
        rows = segment_customer_list(workspace=workspace, name=name, **analysis_filters(request))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        members = segment_members_describe(workspace=workspace, name=name, rows=page)
        return paginator.get_paginated_response(SegmentMemberOutput(members, many=True).data)


EXPORT_TOOL = OpenApiParameter(
    "tool",
    OpenApiTypes.STR,
    enum=["csv", *CONTACT_COLUMNS],
    description="`csv` (default): every member with the evidence; `klaviyo` / `mailchimp`: a contact import file "
    "in the columns that tool recognises (members with a known e-mail address only).",
)


class SegmentExportApi(APIView):
    """CSV of the whole segment (`export`) or the Meta custom-audience file of hashed e-mails (`meta-audience`)."""

    kind = "csv"

    @extend_schema(
        operation_id="analytics_segment_export",
        parameters=[SEGMENT_NAME, *RANGE_PARAMETERS, EXPORT_TOOL],
        responses={(200, "text/csv"): OpenApiTypes.STR, **errors(400, 401, 403, 404)},
        tags=["analytics"],
    )
    def get(self, request: Request, name: str) -> StreamingHttpResponse:
        tool = request.query_params.get("tool", "csv")  # not `format`: DRF reads that one as a renderer choice
        if tool not in ("csv", *CONTACT_COLUMNS):
            raise serializers.ValidationError({"tool": [f"Use one of csv, {', '.join(CONTACT_COLUMNS)}."]})
        tool = "meta" if self.kind == "meta" else tool
        lines, filename = segment_export_lines(
            user=request.user, name=name, filters=analysis_filters(request), tool=tool
        )
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class SegmentMetaAudienceApi(SegmentExportApi):
    kind = "meta"

    @extend_schema(
        operation_id="analytics_segment_meta_audience",
        parameters=[SEGMENT_NAME, *RANGE_PARAMETERS],
        responses={(200, "text/csv"): OpenApiTypes.STR, **errors(400, 401, 403, 404)},
        tags=["analytics"],
        description="Header `email`, then one SHA-256 per customer of the e-mail trimmed and lower-cased.",
    )
    def get(self, request: Request, name: str) -> StreamingHttpResponse:
        return super().get(request, name)
