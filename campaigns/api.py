"""DRF endpoints of DESIGN §4 for campaigns: thin, each calls one selector or service."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import workspace_current_for_user
from ai.ratelimit import ai_rate_limit_check
from marketing_ai.openapi import paginated
from marketing_ai.pagination import PageNumberPagination
from marketing_ai.params import query_flag

from . import selectors
from .brand import brand_asset_upload, brand_profile_update
from .content import content_job_start
from .metrics import csv_rows, metrics_import, metrics_sync_from_platform, performance_summary
from .models import Campaign, PerformanceMetric
from .recommendations import recommendation_list_for_user, recommendation_payload, recommendations_generate
from .serializers import (
    BrandAssetInput,
    BrandAssetOutput,
    BrandProfileInput,
    BrandProfileOutput,
    CampaignInput,
    CampaignOutput,
    CampaignPatchInput,
    ContentInput,
    ContentJobOutput,
    DecisionInput,
    MetricsInput,
    StepOutput,
    SubmitInput,
    VariantOutput,
    WorkflowOutput,
)
from .services import campaign_create, campaign_create_from_recommendation, campaign_delete, campaign_update
from .workflow import approval_decide, campaign_submit

MAX_CSV_BYTES = 2 * 1024 * 1024
JobOutput = inline_serializer("ContentJobAccepted", {"job": ContentJobOutput()})


def campaign_detail_data(campaign: Campaign) -> dict:
    data = CampaignOutput(campaign).data
    data["workflows"] = WorkflowOutput(selectors.workflow_list_for_campaign(campaign=campaign), many=True).data
    return data


class CampaignListCreateApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=Campaign.Status.values)],
        responses=paginated(CampaignOutput),
    )
    def get(self, request):
        wanted = request.query_params.get("status") or None
        if wanted and wanted not in Campaign.Status.values:
            raise ValidationError({"status": f"Use one of {', '.join(Campaign.Status.values)}."})
        campaigns = selectors.campaign_list_for_user(user=request.user, status=wanted)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(campaigns, request, view=self)
        return paginator.get_paginated_response(CampaignOutput(page, many=True).data)

    @extend_schema(request=CampaignInput, responses={201: CampaignOutput})
    def post(self, request):
        data = CampaignInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = campaign_create(
            user=request.user, workspace=workspace_current_for_user(user=request.user), **data.validated_data
        )
        return Response(CampaignOutput(campaign).data, status=status.HTTP_201_CREATED)


class CampaignFromRecommendationApi(APIView):
    @extend_schema(request=None, responses={201: CampaignOutput})
    def post(self, request, recommendation_id: int):
        recommendation = selectors.recommendation_get_for_user(user=request.user, recommendation_id=recommendation_id)
        campaign = campaign_create_from_recommendation(user=request.user, recommendation=recommendation)
        return Response(CampaignOutput(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    @extend_schema(responses=CampaignOutput)
    def get(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
        return Response(campaign_detail_data(campaign))

    @extend_schema(request=CampaignPatchInput, responses=CampaignOutput)
    def patch(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
        data = CampaignPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        campaign = campaign_update(campaign=campaign, user=request.user, data=dict(data.validated_data))
        return Response(campaign_detail_data(campaign))

    @extend_schema(responses={204: None})
    def delete(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
        campaign_delete(campaign=campaign, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CampaignContentApi(APIView):
    @extend_schema(request=ContentInput, responses={202: JobOutput})
    def post(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
        data = ContentInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = content_job_start(campaign=campaign, user=request.user, platforms=data.validated_data["platforms"])
        return Response({"job": ContentJobOutput(job).data}, status=status.HTTP_202_ACCEPTED)


class ContentJobDetailApi(APIView):
    @extend_schema(responses=ContentJobOutput)
    def get(self, request, job_id: int):
        job = selectors.content_job_get_for_user(user=request.user, job_id=job_id)
        return Response(ContentJobOutput(job).data)


class CampaignVariantListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("all", bool, description="Include superseded variants.")],
        responses=inline_serializer("VariantList", fields={"results": VariantOutput(many=True)}),
    )
    def get(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
        current_only = not query_flag(request, "all")
        variants = selectors.variant_list_for_campaign(campaign=campaign, current_only=current_only)
        return Response({"results": VariantOutput(variants, many=True).data})


class CampaignSubmitApi(APIView):
    @extend_schema(request=SubmitInput, responses=WorkflowOutput)
    def post(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
        data = SubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        steps = [dict(step) for step in data.validated_data.get("steps") or []]
        for index, step in enumerate(steps):
            user_id = step.pop("approver_user_id", None)
            if user_id is not None:
                step["approver_user"] = selectors.workspace_member_get(
                    workspace_id=campaign.workspace_id, user_id=user_id
                )
                if step["approver_user"] is None:
                    raise ValidationError({f"steps[{index}].approverUserId": "Not a member of this workspace."})
        workflow = campaign_submit(campaign=campaign, user=request.user, steps=steps or None)
        workflow = selectors.workflow_list_for_campaign(campaign=campaign).get(pk=workflow.pk)
        return Response(WorkflowOutput(workflow).data)


class ApprovalDecisionApi(APIView):
    @extend_schema(request=DecisionInput, responses=StepOutput)
    def post(self, request, step_id: int):
        step = selectors.step_get_for_user(user=request.user, step_id=step_id)
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        delegate_to = None
        if data.validated_data["delegate_to"] is not None:
            delegate_to = selectors.workspace_member_get(
                workspace_id=step.workflow.workspace_id, user_id=data.validated_data["delegate_to"]
            )
            if delegate_to is None:
                raise ValidationError({"delegateTo": "Not a member of this workspace."})
        step = approval_decide(
            step=step,
            user=request.user,
            decision=data.validated_data["decision"],
            comment=data.validated_data["comment"],
            delegate_to=delegate_to,
        )
        step = selectors.step_get_for_user(user=request.user, step_id=step.pk)
        return Response(StepOutput(step).data)


class BrandProfileApi(APIView):
    @extend_schema(responses=BrandProfileOutput)
    def get(self, request):
        workspace = workspace_current_for_user(user=request.user)
        return Response(BrandProfileOutput(selectors.brand_profile_get_for_workspace(workspace=workspace)).data)

    @extend_schema(request=BrandProfileInput, responses=BrandProfileOutput)
    def put(self, request):
        data = BrandProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        profile = brand_profile_update(
            workspace=workspace_current_for_user(user=request.user), user=request.user, data=dict(data.validated_data)
        )
        return Response(BrandProfileOutput(profile).data)


class BrandAssetCreateApi(APIView):
    @extend_schema(responses=inline_serializer("BrandAssetList", fields={"results": BrandAssetOutput(many=True)}))
    def get(self, request):
        workspace = workspace_current_for_user(user=request.user)
        assets = selectors.brand_asset_list_for_workspace(workspace=workspace)
        return Response({"results": BrandAssetOutput(assets, many=True).data})

    @extend_schema(request={"multipart/form-data": BrandAssetInput}, responses={201: BrandAssetOutput})
    def post(self, request):
        data = BrandAssetInput(data=request.data)
        data.is_valid(raise_exception=True)
        asset = brand_asset_upload(
            workspace=workspace_current_for_user(user=request.user),
            user=request.user,
            upload=data.validated_data["file"],
            kind=data.validated_data["kind"],
            name=data.validated_data["name"],
        )
        return Response(BrandAssetOutput(asset).data, status=status.HTTP_201_CREATED)


MetricsOutput = inline_serializer(
    "CampaignMetrics",
    {
        "totals": serializers.DictField(),
        "daily": serializers.ListField(child=serializers.DictField()),
        "variants": serializers.ListField(child=serializers.DictField()),
        "platforms": serializers.ListField(child=serializers.DictField()),
    },
)


class CampaignMetricsApi(APIView):
    @extend_schema(responses=MetricsOutput)
    def get(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
        return Response(performance_summary(rows=list(selectors.metric_list_for_campaign(campaign=campaign))))

    @extend_schema(
        request={"application/json": MetricsInput, "multipart/form-data": MetricsInput},
        responses={
            201: inline_serializer(
                "MetricsImported", {"created": serializers.IntegerField(), "updated": serializers.IntegerField()}
            )
        },
    )
    def post(self, request, campaign_id: int):
        campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
        data = MetricsInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("source") == "platform":
            counts = metrics_sync_from_platform(
                campaign=campaign, user=request.user, since=values["since"], until=values["until"]
            )
        elif values.get("file"):
            upload = values["file"]
            if upload.size > MAX_CSV_BYTES:
                raise ValidationError({"file": "The CSV is larger than 2 MB."})
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError({"file": "The CSV must be UTF-8 text."}) from None
            counts = metrics_import(
                campaign=campaign, user=request.user, rows=csv_rows(text=text), source=PerformanceMetric.Source.CSV
            )
        else:
            rows = [dict(row) for row in request.data.get("rows", [])]
            counts = metrics_import(
                campaign=campaign, user=request.user, rows=rows, source=PerformanceMetric.Source.MANUAL
            )
        return Response(counts, status=status.HTTP_201_CREATED)


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
    @extend_schema(responses=paginated(RecommendationOutput))
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
        data = self.Input(data=request.data)  # an empty body is {}; a JSON null is refused
        data.is_valid(raise_exception=True)
        workspace = workspace_current_for_user(user=request.user)
        ai_rate_limit_check(workspace=workspace)
        result = recommendations_generate(workspace=workspace, user=request.user, **data.validated_data)
        code = status.HTTP_201_CREATED if result.get("recommendations") else status.HTTP_200_OK
        return Response(result, status=code)
