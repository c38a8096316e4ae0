from django.urls import path

from . import api, sse

app_name = "chat-api"

urlpatterns = [
    path("conversations", api.ConversationListCreateApi.as_view(), name="conversation-list"),
    path("conversations/messages", api.MessageCreateApi.as_view(), name="message-create"),
    path("conversations/<int:conversation_id>", api.ConversationDetailApi.as_view(), name="conversation-detail"),
    path("conversations/<int:conversation_id>/stream", sse.conversation_stream, name="conversation-stream"),
]
