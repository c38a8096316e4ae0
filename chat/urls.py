from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("", views.chat, name="chat"),
    path("new/", views.conversation_new, name="conversation-new"),
    path("<int:conversation_id>/", views.conversation_page, name="conversation"),
    path("<int:conversation_id>/rename/", views.conversation_rename_view, name="conversation-rename"),
    path("<int:conversation_id>/delete/", views.conversation_delete_view, name="conversation-delete"),
    path("<int:conversation_id>/export.<str:fmt>", views.conversation_export, name="conversation-export"),
    path("messages/<int:message_id>/", views.message_fragment, name="message"),
]
