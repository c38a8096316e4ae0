"""The chat page (HTMX): conversation list, thread, rendered messages and exports. The answer streams over ws."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from ai.choices import model_choices_for
from marketing_ai.errors import ApplicationError

from .exports import conversation_json, conversation_markdown
from .selectors import (
    conversation_get_for_user,
    conversation_list_for_user,
    message_get_for_user,
    message_list_for_conversation,
)
from .services import conversation_create, conversation_delete, conversation_rename

CONVERSATIONS_SHOWN = 50


def _page(request: HttpRequest, *, conversation=None, rename_error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "conversations": conversation_list_for_user(user=request.user)[:CONVERSATIONS_SHOWN],
        "conversation": conversation,
        "model_choices": model_choices_for(workspace=conversation.workspace, user=request.user) if conversation else [],
        "messages": list(message_list_for_conversation(conversation=conversation)) if conversation else [],
        "rename_error": rename_error,
    }
    template = "chat/chat.html"
    if request.htmx and not request.htmx.boosted:
        template += "#conversation-list"
    return render(request, template, context, status=status)


@login_required
@require_GET
def chat(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_GET
def conversation_page(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _page(request, conversation=conversation_get_for_user(user=request.user, conversation_id=conversation_id))


@login_required
@require_POST
def conversation_new(request: HttpRequest) -> HttpResponse:
    conversation, _ = conversation_create(user=request.user, title="")
    url = reverse("chat:conversation", args=[conversation.id])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
def conversation_rename_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = conversation_get_for_user(user=request.user, conversation_id=conversation_id)
    try:
        conversation_rename(conversation=conversation, title=request.POST.get("title", ""))
    except ApplicationError as exc:
        error = " ".join(m for messages in (exc.errors or {}).values() for m in messages) or exc.message
        return _page(request, conversation=conversation, rename_error=error, status=422)
    response = _page(request, conversation=conversation)
    return trigger_client_event(response, "toast", {"message": "Conversation renamed.", "level": "success"})


@login_required
@require_POST
def conversation_delete_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation_delete(conversation=conversation_get_for_user(user=request.user, conversation_id=conversation_id))
    url = reverse("chat:chat")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_GET
def message_fragment(request: HttpRequest, message_id: int) -> HttpResponse:
    """One message rendered (assistant Markdown sanitized); anonymous callers pass ?token=."""
    message = message_get_for_user(
        user=request.user, message_id=message_id, anonymous_token=request.GET.get("token", "")
    )
    return render(request, "chat/_message.html", {"message": message})


@login_required
@require_GET
def conversation_export(request: HttpRequest, conversation_id: int, fmt: str) -> HttpResponse:
    if fmt not in ("md", "json"):
        raise Http404("Unknown export format.")
    conversation = conversation_get_for_user(user=request.user, conversation_id=conversation_id)
    messages = list(message_list_for_conversation(conversation=conversation))
    if fmt == "json":
        body, content_type = conversation_json(conversation=conversation, messages=messages), "application/json"
    else:
        body, content_type = conversation_markdown(conversation=conversation, messages=messages), "text/markdown"
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="conversation-{conversation.id}.{fmt}"'
    return response
