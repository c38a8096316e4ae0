"""REST API of the chat (DESIGN §4): conversations and messages. The SSE stream lives in `sse.py`."""

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import StrictCharField
from marketing_ai.openapi import paginated
from marketing_ai.pagination import PageNumberPagination

from .selectors import conversation_get_for_user, conversation_list_for_user, message_list_for_conversation
from .services import conversation_create, conversation_delete, conversation_rename, message_send

TOKEN_HEADER = OpenApiParameter(
    "X-Conversation-Token",
    location=OpenApiParameter.HEADER,
    required=False,
    description="The anonymousToken of an anonymous conversation.",
)


class MessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    conversationId = serializers.IntegerField(source="conversation_id")  # noqa: N815
    role = serializers.CharField()
    content = serializers.CharField()
    status = serializers.CharField()
    intent = serializers.JSONField()
    metadata = serializers.JSONField()
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at")  # noqa: N815


class ConversationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    anonymous = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at")  # noqa: N815

    def get_anonymous(self, conversation) -> bool:
        return conversation.user_id is None


class ConversationDetailOutput(ConversationOutput):
    messages = MessageOutput(many=True)


def _token(request) -> str:
    return request.headers.get("X-Conversation-Token", "")


def _conversation(request, conversation_id: int):
    return conversation_get_for_user(
        user=request.user, conversation_id=conversation_id, anonymous_token=_token(request)
    )


class ConversationListCreateApi(APIView):
    class Input(serializers.Serializer):
        title = StrictCharField(required=False, allow_blank=True, max_length=200, default="")

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        operation_id="conversations_list",
        responses=paginated(ConversationOutput),
    )
    def get(self, request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(conversation_list_for_user(user=request.user), request, view=self)
        return paginator.get_paginated_response(ConversationOutput(page, many=True).data)

    @extend_schema(
        operation_id="conversations_create",
        request=Input,
        responses={
            201: inline_serializer(
                "ConversationCreated",
                {
                    "id": serializers.IntegerField(),
                    "title": serializers.CharField(),
                    "anonymous": serializers.BooleanField(),
                    "createdAt": serializers.DateTimeField(),
                    "updatedAt": serializers.DateTimeField(),
                    "anonymousToken": serializers.CharField(required=False),
                },
            )
        },
    )
    def post(self, request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        conversation, token = conversation_create(user=request.user, title=data.validated_data["title"])
        body = dict(ConversationOutput(conversation).data)
        if token:
            body["anonymousToken"] = token
        return Response(body, status=status.HTTP_201_CREATED)


class ConversationDetailApi(APIView):
    permission_classes = [AllowAny]

    class Input(serializers.Serializer):
        title = StrictCharField(max_length=200)

    @extend_schema(operation_id="conversations_retrieve", parameters=[TOKEN_HEADER], responses=ConversationDetailOutput)
    def get(self, request, conversation_id: int) -> Response:
        conversation = _conversation(request, conversation_id)
        conversation.messages_list = list(message_list_for_conversation(conversation=conversation))
        body = dict(ConversationOutput(conversation).data)
        body["messages"] = MessageOutput(conversation.messages_list, many=True).data
        return Response(body)

    @extend_schema(
        operation_id="conversations_rename",
        parameters=[TOKEN_HEADER],
        request={"application/json": Input},  # the title is the one field, so a PATCH must carry it
        responses=ConversationOutput,
    )
    def patch(self, request, conversation_id: int) -> Response:
        conversation = _conversation(request, conversation_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = conversation_rename(conversation=conversation, title=data.validated_data["title"])
        return Response(ConversationOutput(conversation).data)

    @extend_schema(operation_id="conversations_destroy", parameters=[TOKEN_HEADER], responses={204: None})
    def delete(self, request, conversation_id: int) -> Response:
        conversation_delete(conversation=_conversation(request, conversation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageCreateApi(APIView):
    permission_classes = [AllowAny]

    class Input(serializers.Serializer):
        content = StrictCharField(max_length=4000, trim_whitespace=True)
        conversationId = serializers.IntegerField(required=False, allow_null=True, source="conversation_id")  # noqa: N815
        provider = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)
        model = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)

    @extend_schema(
        operation_id="conversations_messages_create",
        parameters=[TOKEN_HEADER],
        request=Input,
        responses={201: MessageOutput},
        description="Store a user message (409 while an answer is streaming in the conversation). A conversation "
        "created for an anonymous caller comes with its `anonymousToken`. `provider`/`model` pick the model of the "
        "answer (GET /api/ai/models lists those you can use; 400 otherwise); the answer's `metadata.usage` says "
        "which provider and model actually answered.",
    )
    def post(self, request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        conversation_id = data.validated_data.get("conversation_id")
        with transaction.atomic():
            conversation = _conversation(request, conversation_id) if conversation_id is not None else None
            message, token = message_send(
                user=request.user,
                content=data.validated_data["content"],
                conversation=conversation,
                provider=data.validated_data["provider"],
                model=data.validated_data["model"],
            )
        body = dict(MessageOutput(message).data)
        if token:
            body["anonymousToken"] = token
        return Response(body, status=status.HTTP_201_CREATED)
