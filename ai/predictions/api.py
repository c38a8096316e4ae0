"""REST API of predictions (DESIGN §4): train a model (a job), its versions with held-out metrics, roll back."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from marketing_ai.openapi import paginated
from marketing_ai.pagination import PageNumberPagination

from .models import CustomerPrediction, PredictionModel
from .selectors import prediction_model_get_for_user, prediction_model_list_for_user
from .services import prediction_model_activate, prediction_model_train_start


class PredictionModelOutput(serializers.ModelSerializer):
    isActive = serializers.BooleanField(source="is_active")
    scoredCustomers = serializers.IntegerField(source="scored_customers")
    trainingSeconds = serializers.FloatField(source="training_seconds", allow_null=True)
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    activatedAt = serializers.DateTimeField(source="activated_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = PredictionModel
        fields = [
            "id",
            "kind",
            "version",
            "status",
            "isActive",
            "progress",
            "message",
            "algorithm",
            "split",
            "metrics",
            "scoredCustomers",
            "trainingSeconds",
            "startedAt",
            "finishedAt",
            "activatedAt",
            "createdAt",
        ]


class PredictionOutput(serializers.ModelSerializer):
    """One customer's predictions; with confidence `insufficient` every value is null (cannot predict yet)."""

    purchase30d = serializers.FloatField(source="purchase_30d", allow_null=True)
    churnRisk = serializers.FloatField(source="churn_risk", allow_null=True)
    nextOrderOn = serializers.DateField(source="next_order_on", allow_null=True)
    value90d = serializers.DecimalField(source="value_90d", max_digits=14, decimal_places=2, allow_null=True)
    modelVersion = serializers.IntegerField(source="model.version")
    scoredAt = serializers.DateTimeField(source="scored_at")

    class Meta:
        model = CustomerPrediction
        fields = [
            "purchase30d",
            "churnRisk",
            "nextOrderOn",
            "value90d",
            "confidence",
            "events",
            "modelVersion",
            "scoredAt",
        ]


class ModelTrainApi(APIView):
    class Input(serializers.Serializer):
        kind = serializers.ChoiceField(choices=PredictionModel.Kind.values, default=PredictionModel.Kind.CUSTOMER)

    @extend_schema(
        request=Input,
        responses={202: PredictionModelOutput},
        tags=["predictions"],
        description="Admins: train a new version on a time-based split (learn on one 30-day window, measure on the "
        "next). It becomes active and scores every customer when it succeeds; with too little data it is `refused` "
        "with the reason and the active version stays.",
    )
    def post(self, request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        model = prediction_model_train_start(user=request.user, kind=data.validated_data["kind"])
        model.refresh_from_db()
        return Response(PredictionModelOutput(model).data, status=status.HTTP_202_ACCEPTED)


class ModelListApi(APIView):
    @extend_schema(responses=paginated(PredictionModelOutput), tags=["predictions"])
    def get(self, request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(prediction_model_list_for_user(user=request.user), request, view=self)
        return paginator.get_paginated_response(PredictionModelOutput(page, many=True).data)


class ModelDetailApi(APIView):
    @extend_schema(responses=PredictionModelOutput, tags=["predictions"])
    def get(self, request, model_id: int) -> Response:
        return Response(PredictionModelOutput(prediction_model_get_for_user(user=request.user, model_id=model_id)).data)


class ModelActivateApi(APIView):
    @extend_schema(
        request=None,
        responses=PredictionModelOutput,
        tags=["predictions"],
        description="Admins: make this trained version the active one (roll back or forward) and rescore customers.",
    )
    def post(self, request, model_id: int) -> Response:
        model = prediction_model_get_for_user(user=request.user, model_id=model_id)
        model = prediction_model_activate(model=model, user=request.user)
        return Response(PredictionModelOutput(model).data)
