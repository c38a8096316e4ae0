"""Publishing API: publish or schedule an approved variant, list, cancel or retry posts, pull a post's insights."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from marketing_ai.errors import NotFound

from . import selectors
from .metrics import publication_metrics_sync
from .models import Publication
from .publishing import publication_cancel, publication_retry, publication_schedule


class PublicationOutput(serializers.ModelSerializer):
    campaignId = serializers.IntegerField(source="campaign_id")
    variantId = serializers.IntegerField(source="variant_id")
    targetId = serializers.CharField(source="target_id")
    scheduledFor = serializers.DateTimeField(source="scheduled_for")
    publishedAt = serializers.DateTimeField(source="published_at")
    platformPostId = serializers.CharField(source="platform_post_id")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Publication
        fields = [
            "id",
            "campaignId",
            "variantId",
            "platform",
            "targetId",
            "status",
            "scheduledFor",
            "publishedAt",
            "platformPostId",
            "attempts",
            "error",
            "createdAt",
        ]


def _publication_for_user(request, publication_id: int) -> Publication:
    publication = Publication.objects.filter(
        id=publication_id, campaign__in=selectors.campaign_list_for_user(user=request.user)
    ).first()
    if publication is None:
        raise NotFound("Post not found.")
    return publication


class VariantPublishApi(APIView):
    class Input(serializers.Serializer):
        at = serializers.DateTimeField(required=False, allow_null=True, help_text="Empty: publish now.")

    @extend_schema(request=Input, responses={202: PublicationOutput}, tags=["publishing"])
    def post(self, request, campaign_id: int, variant_id: int) -> Response:
        campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
        variant = campaign.variants.filter(pk=variant_id).first()
        if variant is None:
            raise NotFound("Variant not found.")
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        publication = publication_schedule(user=request.user, variant=variant, at=data.validated_data.get("at"))
        publication.refresh_from_db()
        return Response(PublicationOutput(publication).data, status=status.HTTP_202_ACCEPTED)


class CampaignPublicationListApi(APIView):
    @extend_schema(responses=PublicationOutput(many=True), tags=["publishing"])
    def get(self, request, campaign_id: int) -> Response:
        campaign = selectors.campaign_get_for_user(user=request.user, campaign_id=campaign_id)
        return Response(PublicationOutput(campaign.publications.all(), many=True).data)


class PublicationCancelApi(APIView):
    service = staticmethod(publication_cancel)

    @extend_schema(request=None, responses=PublicationOutput, tags=["publishing"])
    def post(self, request, publication_id: int) -> Response:
        publication = self.service(user=request.user, publication=_publication_for_user(request, publication_id))
        publication.refresh_from_db()
        return Response(PublicationOutput(publication).data)


class PublicationRetryApi(PublicationCancelApi):
    service = staticmethod(publication_retry)


class PublicationMetricsSyncApi(APIView):
    class Input(serializers.Serializer):
        since = serializers.DateField()
        until = serializers.DateField()

    @extend_schema(
        request=Input,
        responses={
            201: inline_serializer(
                "PostMetricsImported", {"created": serializers.IntegerField(), "updated": serializers.IntegerField()}
            )
        },
        tags=["publishing"],
        description="Daily insights of the published post (at PLATFORM_INSIGHTS_URL), stored for its variant.",
    )
    def post(self, request, publication_id: int) -> Response:
        publication = _publication_for_user(request, publication_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        counts = publication_metrics_sync(publication=publication, user=request.user, **data.validated_data)
        return Response(counts, status=status.HTTP_201_CREATED)
