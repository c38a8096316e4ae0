"""Product recommendations over the REST API (DESIGN §4): per customer or per segment, the refresh state, and
an on-demand refresh."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import workspace_current_for_user
from integrations.analysis.apis import RANGE_PARAMETERS, analysis_filters
from integrations.analysis.queries import SEGMENTS
from integrations.selectors import customer_get_for_user
from marketing_ai.errors import ApplicationError
from marketing_ai.openapi import paginated
from marketing_ai.pagination import PageNumberPagination

from .selectors import (
    products_to_feature,
    recommendation_state,
    recommendations_for_customer,
    segment_recommendations,
)
from .services import recommendation_summary, recommendations_refresh_request


class ProductRecommendationOutput(serializers.Serializer):
    productId = serializers.CharField(source="product_id")
    name = serializers.CharField()
    score = serializers.FloatField(help_text="Ranking score: the summed confidences of the pairs behind it.")
    basis = serializers.ChoiceField(choices=["bought_together", "looked_not_bought", "viewed_together", "popular"])
    reason = serializers.CharField()
    support = serializers.IntegerField(help_text="Customers behind the reason.")
    confidence = serializers.FloatField()
    lift = serializers.FloatField()
    becauseProductId = serializers.CharField(source="because_id", allow_blank=True)
    becauseName = serializers.CharField(source="because_name", allow_blank=True)


class ProductRecommendationStateOutput(serializers.Serializer):
    status = serializers.CharField()
    mode = serializers.CharField()
    refreshedAt = serializers.DateTimeField(allow_null=True)
    durationMs = serializers.IntegerField()
    customersChanged = serializers.IntegerField()
    products = serializers.IntegerField()
    pairs = serializers.IntegerField()


class ProductRecommendationListApi(APIView):
    """Products for one customer (`customer`), else one analysis segment (`segment`, over `from`/`to`/`source`),
    else the workspace's best sellers; best first, each with its reason, support and lift."""

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", int, description="A customer id; or give `segment`."),
            OpenApiParameter("segment", str, enum=list(SEGMENTS)),
            *RANGE_PARAMETERS,
            OpenApiParameter("page", int),
            OpenApiParameter("pageSize", int),
        ],
        responses=paginated(ProductRecommendationOutput),
    )
    def get(self, request) -> Response:
        params = request.query_params
        customer, segment = params.get("customer", "").strip(), params.get("segment", "").strip()
        limit = settings.RECOMMENDATIONS_MAX
        filters = analysis_filters(request)  # range and source checked on every branch; a foreign source is a 404
        if customer:
            if not customer.isdigit():
                raise ApplicationError("Some fields are invalid.", errors={"customer": ["Give a customer id."]})
            found = recommendations_for_customer(
                customer=customer_get_for_user(user=request.user, customer_id=int(customer)), limit=limit
            )
        elif segment:
            if segment not in SEGMENTS:
                choices = ", ".join(SEGMENTS)
                raise ApplicationError("Some fields are invalid.", errors={"segment": [f"Choose one of {choices}."]})
            workspace = workspace_current_for_user(user=request.user)
            found = segment_recommendations(workspace=workspace, segment=segment, limit=limit, **filters)
        else:  # neither: the workspace's best sellers
            found = products_to_feature(workspace=workspace_current_for_user(user=request.user), limit=limit)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(found, request, view=self)
        return paginator.get_paginated_response(ProductRecommendationOutput(page, many=True).data)


class ProductRecommendationStateApi(APIView):
    @extend_schema(responses=ProductRecommendationStateOutput)
    def get(self, request) -> Response:
        """When the workspace's recommendations were last refreshed, and what the refresh found."""
        workspace = workspace_current_for_user(user=request.user)
        return Response(recommendation_summary(recommendation_state(workspace_id=workspace.id)))


class ProductRecommendationRefreshApi(APIView):
    class Input(serializers.Serializer):
        full = serializers.BooleanField(default=False, help_text="Re-read every customer, not only the changed.")

    @extend_schema(request=Input, responses={202: ProductRecommendationStateOutput})
    def post(self, request) -> Response:
        """Queue a refresh (editors and up): 202 with the state; a `recommendations` message follows live."""
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = workspace_current_for_user(user=request.user)
        state = recommendations_refresh_request(
            workspace=workspace, user=request.user, full=data.validated_data["full"]
        )
        state.refresh_from_db()
        return Response(recommendation_summary(state), status=status.HTTP_202_ACCEPTED)
