"""REST API of DESIGN §4 for data sources, jobs, events and customers (thin: selectors + services)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import workspace_current_for_user
from accounts.serializers import StrictCharField
from ai.predictions.selectors import customer_predictions_data
from marketing_ai.openapi import paginated
from marketing_ai.pagination import PageNumberPagination

from .audiences_out import audience_push_get_for_user, audience_push_list_for_user, audience_push_start
from .csv_preview import csv_preview
from .identity import identity_merge_undo
from .models import AudiencePush, DataSource
from .selectors import (
    customer_get_for_user,
    customer_list_for_user,
    customer_recent_events,
    data_source_get_for_user,
    data_source_list_for_user,
    event_list_for_user,
    identity_merge_get_for_user,
    identity_merges_for_customer,
    job_get_for_user,
)
from .serializers import (
    AudiencePushOutput,
    CustomerOutput,
    DataSourceOutput,
    EventOutput,
    IdentityMergeOutput,
    JobOutput,
)
from .services import (
    DUMMY_SOURCE_TYPES,
    csv_import_start,
    csv_upload_store,
    data_source_create,
    data_source_delete,
    data_source_update,
    dummy_data_start,
    job_cancel,
    job_retry,
    sync_job_start,
)

JobEnvelope = inline_serializer("JobEnvelope", {"job": JobOutput()})


class DataSourceListCreateApi(APIView):
    class Input(serializers.Serializer):
        sourceType = serializers.ChoiceField(choices=DataSource.SourceType.choices)
        name = StrictCharField(max_length=200)
        config = serializers.JSONField(required=False, default=dict)

    @extend_schema(
        responses=paginated(DataSourceOutput),
    )
    def get(self, request) -> Response:
        sources = data_source_list_for_user(user=request.user)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(sources, request, view=self)
        return paginator.get_paginated_response(DataSourceOutput(page, many=True).data)

    @extend_schema(request=Input, responses={201: DataSourceOutput})
    def post(self, request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        source = data_source_create(
            workspace=workspace_current_for_user(user=request.user),
            user=request.user,
            source_type=data.validated_data["sourceType"],
            name=data.validated_data["name"],
            config=data.validated_data["config"],
        )
        return Response(DataSourceOutput(source).data, status=status.HTTP_201_CREATED)


class DataSourceDetailApi(APIView):
    class Input(serializers.Serializer):
        name = StrictCharField(max_length=200, required=False)
        status = serializers.CharField(max_length=16, required=False)
        config = serializers.JSONField(required=False)

    @extend_schema(responses=DataSourceOutput)
    def get(self, request, source_id: int) -> Response:
        return Response(DataSourceOutput(data_source_get_for_user(user=request.user, source_id=source_id)).data)

    @extend_schema(request=Input, responses=DataSourceOutput)
    def patch(self, request, source_id: int) -> Response:
        source = data_source_get_for_user(user=request.user, source_id=source_id)
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        source = data_source_update(source=source, user=request.user, **data.validated_data)
        return Response(DataSourceOutput(source).data)

    @extend_schema(responses={204: None})
    def delete(self, request, source_id: int) -> Response:
        data_source_delete(source=data_source_get_for_user(user=request.user, source_id=source_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DataSourceSyncApi(APIView):
    @extend_schema(request=None, responses={202: JobEnvelope})
    def post(self, request, source_id: int) -> Response:
        source = data_source_get_for_user(user=request.user, source_id=source_id)
        job, _created = sync_job_start(source=source, user=request.user)
        job.refresh_from_db()
        return Response({"job": JobOutput(job).data}, status=status.HTTP_202_ACCEPTED)


class DummyDataApi(APIView):
    class Input(serializers.Serializer):
        count = serializers.IntegerField(required=False, min_value=1, max_value=5_000_000)
        seed = serializers.IntegerField(required=False)

    @extend_schema(
        parameters=[OpenApiParameter("source_type", str, OpenApiParameter.PATH, enum=list(DUMMY_SOURCE_TYPES))],
        request=Input,
        responses={202: JobEnvelope},
    )
    def post(self, request, source_type: str) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        job = dummy_data_start(
            workspace=workspace_current_for_user(user=request.user),
            source_type=source_type,
            user=request.user,
            **data.validated_data,
        )
        job.refresh_from_db()
        return Response({"job": JobOutput(job).data}, status=status.HTTP_202_ACCEPTED)


class CsvUploadApi(APIView):
    class Input(serializers.Serializer):
        file = serializers.FileField()
        mapping = serializers.JSONField(required=False)

    @extend_schema(request=Input, responses={202: JobEnvelope})
    def post(self, request, source_id: int) -> Response:
        source = data_source_get_for_user(user=request.user, source_id=source_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        path = csv_upload_store(source=source, upload=data.validated_data["file"], user=request.user)
        mapping = data.validated_data.get("mapping") or csv_preview(path=path, rows=0)["mapping"]
        job = csv_import_start(source=source, path=path, mapping=mapping, user=request.user)
        job.refresh_from_db()
        return Response({"job": JobOutput(job).data}, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(APIView):
    @extend_schema(responses=JobOutput)
    def get(self, request, job_id: int) -> Response:
        return Response(JobOutput(job_get_for_user(user=request.user, job_id=job_id)).data)


class JobRetryApi(APIView):
    @extend_schema(request=None, responses={202: JobEnvelope})
    def post(self, request, job_id: int) -> Response:
        job = job_retry(job=job_get_for_user(user=request.user, job_id=job_id), user=request.user)
        job.refresh_from_db()
        return Response({"job": JobOutput(job).data}, status=status.HTTP_202_ACCEPTED)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses={200: JobEnvelope})
    def post(self, request, job_id: int) -> Response:
        job = job_cancel(job=job_get_for_user(user=request.user, job_id=job_id), user=request.user)
        return Response({"job": JobOutput(job).data})


class EventListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("source", int),
            OpenApiParameter("type", str),
            OpenApiParameter("customer", str),
            OpenApiParameter("from", OpenApiTypes.DATETIME),
            OpenApiParameter("to", OpenApiTypes.DATETIME),
        ],
        responses=paginated(EventOutput),
    )
    def get(self, request) -> Response:
        params = request.query_params
        events = event_list_for_user(
            user=request.user,
            source=params.get("source"),
            event_type=params.get("type"),
            customer=params.get("customer"),
            date_from=params.get("from"),
            date_to=params.get("to"),
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(EventOutput(page, many=True).data)


class CustomerListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("search", str)],
        responses=paginated(CustomerOutput),
    )
    def get(self, request) -> Response:
        customers = customer_list_for_user(user=request.user, search=request.query_params.get("search"))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(customers, request, view=self)
        return paginator.get_paginated_response(CustomerOutput(page, many=True).data)


class CustomerDetailApi(APIView):
    class Output(CustomerOutput):
        recentEvents = EventOutput(many=True)
        identities = IdentityMergeOutput(many=True)

        class Meta(CustomerOutput.Meta):
            fields = [*CustomerOutput.Meta.fields, "recentEvents", "identities"]

    @extend_schema(responses=Output)
    def get(self, request, customer_id: int) -> Response:
        customer = customer_get_for_user(user=request.user, customer_id=customer_id)
        body = CustomerOutput(customer).data
        body["recentEvents"] = EventOutput(customer_recent_events(customer=customer), many=True).data
        body["identities"] = IdentityMergeOutput(identity_merges_for_customer(customer=customer), many=True).data
        body["predictions"] = customer_predictions_data(customer=customer)
        return Response(body)


class IdentityMergeUndoApi(APIView):
    """Undo an identity merge (editors and up): the joined events and customer come back; 409 if already undone."""

    @extend_schema(request=None, responses=IdentityMergeOutput)
    def post(self, request, merge_id: int) -> Response:
        merge = identity_merge_get_for_user(user=request.user, merge_id=merge_id)
        merge = identity_merge_undo(merge=merge, user=request.user)
        return Response(IdentityMergeOutput(merge).data)


class AudiencePushListCreateApi(APIView):
    """Push a segment to a Meta Custom Audience (a job), and list the workspace's pushes."""

    class Input(serializers.Serializer):
        segment = serializers.CharField(max_length=64)
        audienceId = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
        mode = serializers.ChoiceField(choices=AudiencePush.Mode.choices, default=AudiencePush.Mode.ADD)
        dateFrom = serializers.DateField(required=False, allow_null=True, source="date_from")
        dateTo = serializers.DateField(required=False, allow_null=True, source="date_to")
        sourceId = serializers.IntegerField(required=False, allow_null=True, min_value=1, source="source")

    @extend_schema(
        parameters=[OpenApiParameter("segment", str), OpenApiParameter("page", int)],
        responses=paginated(AudiencePushOutput),
        tags=["audiences"],
    )
    def get(self, request) -> Response:
        pushes = audience_push_list_for_user(user=request.user, segment=request.query_params.get("segment"))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(pushes, request, view=self)
        return paginator.get_paginated_response(AudiencePushOutput(page, many=True).data)

    @extend_schema(
        request=Input,
        responses={202: AudiencePushOutput},
        tags=["audiences"],
        description="Uploads the segment's customers (e-mail, first and last name, SHA-256 hashed after Meta's "
        "normalization) in batches of 10,000 in one session; `replace` swaps the audience's users. Without "
        "`audienceId` a new audience is created in the ad account saved on the workspace's Meta source.",
    )
    def post(self, request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        push = audience_push_start(
            user=request.user,
            segment=values["segment"],
            filters={"from": values.get("date_from"), "to": values.get("date_to"), "source": values.get("source")},
            platform_audience_id=values["audienceId"],
            mode=values["mode"],
        )
        push.refresh_from_db()
        return Response(AudiencePushOutput(push).data, status=status.HTTP_202_ACCEPTED)


class AudiencePushDetailApi(APIView):
    @extend_schema(responses=AudiencePushOutput, tags=["audiences"])
    def get(self, request, push_id: int) -> Response:
        return Response(AudiencePushOutput(audience_push_get_for_user(user=request.user, push_id=push_id)).data)
