"""The plain SQL writes of marketing_ai/db.py store what the ORM's `bulk_create` and `update` store."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from ai.calls import provider_call_build
from ai.models import ProviderCall
from chat.models import Conversation, Message
from marketing_ai.db import row_inserted_unless, rows_inserted, rows_updated

pytestmark = pytest.mark.django_db

COMPARED_AWAY = ("id", "created_at", "updated_at")


def _stored(instance) -> dict:
    row = model_to_dict(type(instance).objects.get(pk=instance.pk))
    return {name: value for name, value in row.items() if name not in COMPARED_AWAY}


def test_inserted_messages_read_back_as_the_orms_with_their_ids_json_and_timestamps(user, workspace):
    conversation = Conversation.objects.create(user=user, workspace=workspace, title="t")
    fields = {"conversation": conversation, "role": "user", "content": "Hi ü", "metadata": {"requested": {"a": [1]}}}
    by_orm = Message.objects.create(**fields)
    plain = [Message(**fields), Message(**fields | {"role": "assistant", "status": "streaming", "content": ""})]

    rows_inserted(plain)

    assert [m.pk for m in plain] == sorted(Message.objects.exclude(pk=by_orm.pk).values_list("pk", flat=True))
    assert _stored(plain[0]) == _stored(by_orm)
    assert _stored(plain[1]) == _stored(by_orm) | {"role": "assistant", "status": "streaming", "content": ""}
    stored = Message.objects.get(pk=plain[0].pk)
    assert stored.created_at == plain[0].created_at and stored.updated_at == plain[0].updated_at
    assert stored.created_at is not None and not plain[0]._state.adding


def test_inserted_provider_calls_keep_their_decimal_cost_and_empty_user(workspace):
    fields = {"workspace": workspace, "provider": "openai", "model": "gpt-4o-mini", "purpose": "chat"}
    fields |= {"status": "ok", "latency_ms": 12, "tokens_in": 1000, "tokens_out": 2000}
    by_orm = provider_call_build(**fields)
    by_orm.save()
    plain = provider_call_build(**fields)

    rows_inserted([plain])

    assert _stored(plain) == _stored(by_orm)
    assert ProviderCall.objects.get(pk=plain.pk).cost == by_orm.cost > Decimal(0)


def test_an_update_changes_only_the_rows_matching_every_condition(user, workspace):
    conversation = Conversation.objects.create(user=user, workspace=workspace, title="t")
    streaming = Message.objects.create(conversation=conversation, role="assistant", status="streaming")
    done = Message.objects.create(conversation=conversation, role="assistant", status="complete", content="kept")
    values = {"content": "so far", "intent": {"intent": "greeting"}}

    changed = [rows_updated(Message, values, id=m.pk, status=Message.Status.STREAMING) for m in (streaming, done)]

    assert changed == [1, 0]
    streaming.refresh_from_db()
    done.refresh_from_db()
    assert (streaming.content, streaming.intent) == ("so far", {"intent": "greeting"})
    assert (done.content, done.intent) == ("kept", {})


def test_a_guarded_insert_stores_nothing_while_its_guard_finds_a_row(user, workspace):
    conversation = Conversation.objects.create(user=user, workspace=workspace, title="t")
    guard = "SELECT 1 FROM chat_message WHERE conversation_id = %s AND status = %s"
    first, second = (Message(conversation=conversation, role="assistant", status="streaming") for _ in range(2))

    stored = [
        row_inserted_unless(m, unless_sql=guard, unless_params=[conversation.pk, "streaming"]) for m in (first, second)
    ]

    assert stored == [True, False]
    assert list(Message.objects.values_list("pk", flat=True)) == [first.pk]
    assert second.pk is None
