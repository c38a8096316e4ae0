"""What an answer is grounded on: the workspace's sources and campaigns, and the conversation's history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from chat.context import CAMPAIGNS_IN_CONTEXT, context_build
from chat.models import Message
from chat.selectors import message_history_for_reply, message_streaming_for_conversation
from chat.services import conversation_create
from integrations.models import DataSource

pytestmark = pytest.mark.django_db


def test_a_signed_in_conversation_is_grounded_on_its_own_workspace_only(user, other_workspace_user):
    workspace = user.current_workspace
    shop = DataSource.objects.create(workspace=workspace, source_type="shopify", name="Shop", status="active")
    tag = DataSource.objects.create(workspace=workspace, source_type="gtm", name="Site tag", status="paused")
    DataSource.objects.create(workspace=other_workspace_user.current_workspace, source_type="csv", name="Theirs")
    for index in range(CAMPAIGNS_IN_CONTEXT + 2):
        Campaign.objects.create(
            workspace=workspace, name=f"Campaign {index}", objective="Grow", segment="vip", status="draft"
        )
    Campaign.objects.create(workspace=other_workspace_user.current_workspace, name="Theirs", objective="x")
    conversation = conversation_create(user=user, title="x")[0]

    context = context_build(conversation=conversation)

    assert context["user"] == {"firstName": "Ada", "lastName": "Owner"}
    assert context["sources"] == [
        {"id": shop.id, "name": "Shop", "type": "shopify", "status": "active"},
        {"id": tag.id, "name": "Site tag", "type": "gtm", "status": "paused"},
    ]
    # The newest campaigns first, at most CAMPAIGNS_IN_CONTEXT of them.
    names = [c["name"] for c in context["campaigns"]]
    assert names == [f"Campaign {i}" for i in range(CAMPAIGNS_IN_CONTEXT + 1, 1, -1)]
    assert context["campaigns"][0]["segment"] == "vip" and context["campaigns"][0]["status"] == "draft"


def test_an_anonymous_conversation_gets_no_workspace_data(db):
    conversation = conversation_create(user=None, title="x")[0]
    assert context_build(conversation=conversation) == {"anonymous": True}


def test_history_is_the_last_finished_messages_with_text_oldest_first(user):
    conversation = conversation_create(user=user, title="x")[0]
    for index in range(12):
        role = "user" if index % 2 == 0 else "assistant"
        Message.objects.create(conversation=conversation, role=role, content=f"message {index}")
    Message.objects.create(conversation=conversation, role="system", content="not for the model")
    Message.objects.create(conversation=conversation, role="assistant", content="", status="stopped")
    Message.objects.create(conversation=conversation, role="assistant", content="half", status="streaming")

    history = message_history_for_reply(conversation=conversation, limit=10)

    # The ten newest user/assistant rows that are not streaming; the empty one is then left out.
    assert history == [{"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}"} for i in range(3, 12)]


def test_the_streaming_answer_is_found_and_a_stale_one_is_closed(user):
    conversation = conversation_create(user=user, title="x")[0]
    assert message_streaming_for_conversation(conversation=conversation) is None
    live = Message.objects.create(conversation=conversation, role="assistant", content="so far", status="streaming")
    assert message_streaming_for_conversation(conversation=conversation) == live

    Message.objects.filter(id=live.id).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert message_streaming_for_conversation(conversation=conversation) is None
    live.refresh_from_db()
    assert live.status == "stopped" and live.content == "so far"
