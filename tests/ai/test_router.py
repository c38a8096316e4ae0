"""The router and the openai provider against a local fake OpenAI-compatible server (the real SDK runs)."""

from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync

from ai.models import ProviderCall, ProviderKey
from ai.providers.base import ChatRequest
from ai.providers.kept import clients_per_call
from ai.router import complete_sync, stream_reply

from .ai_helpers import stream_then_stop

pytestmark = pytest.mark.django_db


def ask(text="Which segment should I target?", **kwargs):
    return ChatRequest(messages=[{"role": "user", "content": text}], **kwargs)


def collect(**kwargs) -> list[dict]:
    async def run():
        return [event async for event in stream_reply(**kwargs)]

    with clients_per_call():  # the call's loop ends with it
        return async_to_sync(run)()


def text_of(events) -> str:
    return "".join(e["content"] for e in events if e["type"] == "chunk")


def test_openai_streams_the_answer_and_logs_tokens_and_cost(fake, workspace):
    events = collect(request=ask(context={"workspace": {"name": "Acme"}}), workspace=workspace)

    assert text_of(events) == fake.reply
    usage = events[-1]
    assert usage == {"type": "usage", "provider": "openai", "model": "gpt-4o-mini", "tokensIn": 321, "tokensOut": 14}
    call = ProviderCall.objects.get()
    assert (call.provider, call.model, call.status, call.purpose) == ("openai", "gpt-4o-mini", "ok", "chat")
    assert (call.workspace, call.tokens_in, call.tokens_out) == (workspace, 321, 14)
    # gpt-4o-mini: $0.15 per million in, $0.60 per million out.
    assert call.cost == Decimal("0.000057")
    sent = fake.completions[0]
    assert sent["auth"] == "Bearer sk-test-valid-key-1234"
    assert sent["body"]["stream"] is True and sent["body"]["stream_options"] == {"include_usage": True}
    assert '"name": "Acme"' in sent["body"]["messages"][0]["content"]


def test_a_500_is_retried_once_then_falls_back_to_local(fake, workspace):
    fake.behaviours.extend(["500", "500"])

    events = collect(request=ask(), workspace=workspace)

    assert len(fake.completions) == 2
    assert events[-1]["provider"] == "local"
    assert text_of(events)
    statuses = list(ProviderCall.objects.order_by("id").values_list("provider", "status"))
    assert statuses == [("openai", "error"), ("openai", "error"), ("local", "ok")]
    assert "HTTP 500" in ProviderCall.objects.filter(provider="openai").first().error


def test_a_single_500_is_healed_by_the_retry(fake, workspace):
    fake.behaviours.append("500")

    events = collect(request=ask(), workspace=workspace)

    assert text_of(events) == fake.reply and events[-1]["provider"] == "openai"
    assert list(ProviderCall.objects.order_by("id").values_list("status", flat=True)) == ["error", "ok"]


def test_a_timeout_falls_back_to_local(fake, settings, workspace):
    settings.AI_REQUEST_TIMEOUT_SECONDS = 0.3
    fake.sleep_seconds = 1.5
    fake.behaviours.extend(["slow", "slow"])

    events = collect(request=ask(), workspace=workspace)

    assert events[-1]["provider"] == "local"
    assert list(ProviderCall.objects.filter(provider="openai").values_list("status", flat=True)) == [
        "timeout",
        "timeout",
    ]


def test_a_429_falls_back_at_once_without_retrying(fake, workspace):
    fake.behaviours.append("429")

    events = collect(request=ask(), workspace=workspace)

    assert len(fake.completions) == 1
    assert events[-1]["provider"] == "local"
    call = ProviderCall.objects.get(provider="openai")
    assert call.status == "rate_limited" and "429" in call.error


def test_a_refused_key_falls_back_at_once_without_retrying(fake, workspace):
    fake.behaviours.append("401")

    events = collect(request=ask(), workspace=workspace)

    assert len(fake.completions) == 1 and events[-1]["provider"] == "local"
    call = ProviderCall.objects.get(provider="openai")
    assert call.status == "error" and "refused the key (HTTP 401)" in call.error


def test_an_unreachable_endpoint_is_retried_then_falls_back(fake, settings, workspace):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens there

    events = collect(request=ask(), workspace=workspace)

    assert events[-1]["provider"] == "local" and text_of(events)
    # Retried once (a connection failure is retryable), then the next provider. The SDK's aiohttp transport
    # reports a refused connection as a connect timeout, so the status is not pinned here.
    statuses = list(ProviderCall.objects.filter(provider="openai").values_list("status", flat=True))
    assert len(statuses) == 2 and "ok" not in statuses


def test_a_connection_dropped_mid_answer_gives_a_notice_then_the_next_provider_answers(fake, workspace):
    fake.behaviours.append("cut")

    events = collect(request=ask(), workspace=workspace)

    types = [e["type"] for e in events]
    notice = types.index("notice")
    assert "".join(e["content"] for e in events[:notice] if e["type"] == "chunk") == "Half an answer "
    assert events[notice]["provider"] == "openai" and "OpenAI broke off" in events[notice]["message"]
    assert text_of(events[notice:]) and events[-1]["provider"] == "local" and "error" not in types
    calls = list(ProviderCall.objects.order_by("id").values_list("provider", "status"))
    assert calls == [("openai", "error"), ("local", "ok")]
    call = ProviderCall.objects.get(provider="openai")
    assert "connection broke" in call.error and call.tokens_out > 0


def test_a_connection_dropped_mid_answer_with_no_provider_left_says_so_and_keeps_the_text(fake, settings, workspace):
    settings.AI_PROVIDERS = ["openai"]
    fake.behaviours.append("cut")

    events = collect(request=ask(), workspace=workspace)

    assert text_of(events) == "Half an answer "
    assert [e["type"] for e in events][-2:] == ["error", "usage"]


def test_complete_keeps_only_the_answer_of_the_provider_that_finished(fake, workspace):
    fake.behaviours.append("cut")

    text, usage = complete_sync(request=ask(), workspace=workspace)

    assert "Half an answer" not in text and text and usage["provider"] == "local"


def test_a_stream_that_is_not_json_is_a_provider_error(fake, workspace):
    fake.behaviours.extend(["garbage", "garbage"])

    events = collect(request=ask(), workspace=workspace)

    assert events[-1]["provider"] == "local"
    errors = list(ProviderCall.objects.filter(provider="openai").values_list("error", flat=True))
    assert errors == ["The provider sent a malformed stream."] * 2


def test_when_every_provider_fails_a_helpful_offline_answer_ends_the_stream(fake, settings, workspace):
    settings.AI_PROVIDERS = ["openai"]
    fake.behaviours.extend(["500", "500"])

    events = collect(request=ask(), workspace=workspace)

    assert events[-1]["provider"] == "fallback"
    assert text_of(events).startswith("The AI model is unavailable right now")
    assert not [e for e in events if e["type"] == "error"]
    statuses = list(ProviderCall.objects.order_by("id").values_list("provider", "status"))
    assert statuses == [("openai", "error"), ("openai", "error"), ("fallback", "ok")]


def test_a_provider_without_a_key_is_skipped(fake, settings, workspace):
    settings.OPENAI_API_KEY = ""

    events = collect(request=ask(), workspace=workspace)

    assert fake.requests == []
    assert events[-1]["provider"] == "local"


def test_the_workspace_key_base_url_and_order_are_used(fake, settings, workspace):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens there: the key's base URL must win
    settings.AI_PROVIDERS = ["local"]
    workspace.ai_providers = "openai,local"
    workspace.save()
    ProviderKey.objects.create(
        workspace=workspace,
        provider="openai",
        secret="sk-test-valid-key-5678",
        last_four="5678",
        base_url=fake.base_url,
        model="gpt-4o",
    )

    events = collect(request=ask(), workspace=workspace)

    assert events[-1]["provider"] == "openai" and events[-1]["model"] == "gpt-4o"
    assert fake.completions[0]["auth"] == "Bearer sk-test-valid-key-5678"


def test_only_the_workspace_s_own_active_key_is_used(other_workspace_user, workspace):
    from ai.keys import provider_key_active_for

    other = other_workspace_user.current_workspace
    ProviderKey.objects.create(workspace=other, provider="openai", secret="sk-theirs", last_four="eirs")
    mine = ProviderKey.objects.create(
        workspace=workspace, provider="openai", secret="sk-mine-1234", last_four="1234", is_active=False
    )
    assert provider_key_active_for(workspace=workspace, provider="openai") is None
    ProviderKey.objects.filter(id=mine.id).update(is_active=True)
    assert provider_key_active_for(workspace=workspace, provider="openai") == mine
    assert provider_key_active_for(workspace=workspace, provider="openai").secret == "sk-mine-1234"
    assert provider_key_active_for(workspace=workspace, provider="groq") is None


def test_error_rows_never_contain_the_key(fake, workspace):
    fake.behaviours.extend(["500", "500"])

    collect(request=ask(), workspace=workspace)

    for error in ProviderCall.objects.values_list("error", flat=True):
        assert "sk-test" not in error


def test_stopping_the_stream_closes_the_upstream_and_logs_cancelled(fake, workspace):
    fake.behaviours.append("drip")

    received = stream_then_stop(request=ask(), workspace=workspace)

    assert len(received) >= 3 and all(e["type"] == "chunk" for e in received)
    assert fake.client_hung_up.wait(5), "the upstream HTTP stream was not closed"
    call = ProviderCall.objects.get()
    assert (call.provider, call.status) == ("openai", "cancelled")
    assert call.tokens_in > 0 and call.tokens_out > 0


def test_complete_returns_text_and_usage(fake, workspace):
    text, usage = complete_sync(request=ask(purpose="intent"), workspace=workspace)

    assert text == fake.reply and usage["provider"] == "openai"
    assert ProviderCall.objects.get().purpose == "intent"


def test_llm_only_gives_no_text_when_every_model_fails(fake, workspace):
    fake.behaviours.extend(["500", "500"])

    text, usage = complete_sync(request=ask(), workspace=workspace, llm_only=True)

    assert text == "" and usage["provider"] == "none"


def test_server_sent_events_are_decoded_across_arbitrary_read_boundaries():
    from ai.providers.openai_compat import SSEDecoder

    body = b': keep-alive\r\ndata: {"a": 1}\r\n\r\ndata: first line\ndata: second line\n\nevent: x\ndata: [DONE]\n\n'
    expected = ['{"a": 1}', "first line\nsecond line", "[DONE]"]
    for size in (1, 2, 5, len(body)):
        decoder = SSEDecoder()
        events = [event for start in range(0, len(body), size) for event in decoder.feed(body[start : start + size])]
        assert events + decoder.close() == expected
    unterminated = SSEDecoder()
    assert unterminated.feed("data: café".encode()[:-1]) == []  # a character cut in two waits for its end
    assert unterminated.feed("data: café".encode()[-1:]) == [] and unterminated.close() == ["café"]
    endless = SSEDecoder()
    with pytest.raises(ValueError):
        for _ in range(20):
            endless.feed(b"x" * 100_000)
