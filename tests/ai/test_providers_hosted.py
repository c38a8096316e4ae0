"""Gemini and Claude through the router against local fakes of their real wire formats (the official SDKs run),
all four hosted providers streaming through the router, and fallback between them in both directions."""

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync

from ai.models import ProviderCall
from ai.providers.base import ChatRequest
from ai.providers.kept import clients_per_call
from ai.router import stream_reply

from .ai_helpers import stream_then_stop
from .fake_openai import FakeOpenAI

pytestmark = pytest.mark.django_db

SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
# Price per million tokens of each fake's default model, to check the logged cost: (input, output).
PRICES = {"gemini": (Decimal("0.30"), Decimal("2.50")), "claude": (Decimal("1.00"), Decimal("5.00"))}


def ask(text="Which segment should I target?", **kwargs):
    return ChatRequest(messages=[{"role": "user", "content": text}], system="Be brief.", **kwargs)


def collect(**kwargs) -> list[dict]:
    async def run():
        return [event async for event in stream_reply(**kwargs)]

    with clients_per_call():
        return async_to_sync(run)()


def text_of(events) -> str:
    return "".join(e["content"] for e in events if e["type"] == "chunk")


@pytest.fixture(params=["gemini", "claude"])
def hosted(request, settings):
    """(provider name, its running fake), the router trying that provider, then local."""
    fake = request.getfixturevalue(request.param)
    settings.AI_PROVIDERS = [request.param, "local"]
    return request.param, fake


def test_the_answer_streams_with_the_response_s_token_usage_and_cost(hosted, workspace):
    name, fake = hosted

    events = collect(request=ask(context={"workspace": {"name": "Acme"}}), workspace=workspace)

    assert text_of(events) == fake.reply
    assert len([e for e in events if e["type"] == "chunk"]) > 5, "streamed in pieces, not in one block"
    words = len(fake.reply.split(" "))
    assert events[-1] == {"type": "usage", "provider": name, "model": fake.model, "tokensIn": 321, "tokensOut": words}
    call = ProviderCall.objects.get()
    assert (call.provider, call.model, call.status, call.tokens_in, call.tokens_out) == (
        name,
        fake.model,
        "ok",
        321,
        words,
    )
    price_in, price_out = PRICES[name]
    assert call.cost == ((price_in * 321 + price_out * words) / 1_000_000).quantize(Decimal("0.000001"))
    assert call.cost > 0
    sent = json.dumps(fake.completions[0]["body"])
    assert "Be brief." in sent and '\\"name\\": \\"Acme\\"' in sent and "Which segment should I target?" in sent


def test_a_500_is_retried_once_then_falls_back_to_local(hosted, workspace):
    name, fake = hosted
    fake.behaviours.extend(["500", "500"])

    events = collect(request=ask(), workspace=workspace)

    assert len(fake.completions) == 2 and events[-1]["provider"] == "local" and text_of(events)
    statuses = list(ProviderCall.objects.order_by("id").values_list("provider", "status"))
    assert statuses == [(name, "error"), (name, "error"), ("local", "ok")]
    assert "HTTP 500" in ProviderCall.objects.filter(provider=name).first().error


def test_a_429_with_a_short_retry_after_is_retried_after_that_wait(hosted, settings, workspace):
    name, fake = hosted
    settings.AI_RETRY_MAX_WAIT_SECONDS = 5
    fake.retry_after = "1"
    fake.behaviours.append("429")

    started = time.monotonic()
    events = collect(request=ask(), workspace=workspace)

    assert time.monotonic() - started >= 1.0, "the retry came before the provider's Retry-After"
    assert text_of(events) == fake.reply and events[-1]["provider"] == name
    assert list(ProviderCall.objects.order_by("id").values_list("status", flat=True)) == ["rate_limited", "ok"]


def test_a_429_asking_for_a_long_wait_falls_back_at_once(hosted, settings, workspace):
    name, fake = hosted
    settings.AI_RETRY_MAX_WAIT_SECONDS = 5
    fake.retry_after = "120"
    fake.behaviours.append("429")

    events = collect(request=ask(), workspace=workspace)

    assert len(fake.completions) == 1 and events[-1]["provider"] == "local"
    call = ProviderCall.objects.get(provider=name)
    assert call.status == "rate_limited" and "429" in call.error


def test_a_refused_key_falls_back_at_once_without_retrying(hosted, settings, workspace):
    name, fake = hosted
    setattr(settings, "GEMINI_API_KEY" if name == "gemini" else "ANTHROPIC_API_KEY", "fake-wrong-key-0000")

    events = collect(request=ask(), workspace=workspace)

    assert len(fake.completions) == 1 and events[-1]["provider"] == "local"
    assert "refused the key" in ProviderCall.objects.get(provider=name).error


def test_a_timeout_is_retried_then_falls_back(hosted, settings, workspace):
    name, fake = hosted
    settings.AI_REQUEST_TIMEOUT_SECONDS = 0.3
    fake.sleep_seconds = 1.5
    fake.behaviours.extend(["slow", "slow"])

    events = collect(request=ask(), workspace=workspace)

    assert events[-1]["provider"] == "local"
    assert list(ProviderCall.objects.filter(provider=name).values_list("status", flat=True)) == ["timeout"] * 2


@pytest.mark.parametrize("behaviour", ["error", "cut"])
def test_an_answer_broken_off_mid_stream_gives_a_notice_and_the_next_provider_answers(hosted, behaviour, workspace):
    name, fake = hosted
    fake.behaviours.append(behaviour)

    events = collect(request=ask(), workspace=workspace)

    types = [e["type"] for e in events]
    notice = types.index("notice")
    assert text_of(events[:notice]) == "Your cart ", "the words before the break were relayed"
    assert events[notice]["provider"] == name and "broke off" in events[notice]["message"]
    assert text_of(events[notice:]) and events[-1]["provider"] == "local" and "error" not in types
    assert list(ProviderCall.objects.order_by("id").values_list("provider", "status")) == [
        (name, "error"),
        ("local", "ok"),
    ]
    assert len(fake.completions) == 1, "a provider that broke off mid-answer is not asked again"


def test_stopping_the_stream_closes_the_upstream_and_logs_cancelled(hosted, workspace):
    name, fake = hosted
    fake.behaviours.append("drip")

    received = stream_then_stop(request=ask(), workspace=workspace)

    assert len(received) >= 3
    assert fake.client_hung_up.wait(5), "the upstream HTTP stream was not closed"
    call = ProviderCall.objects.get()
    assert (call.provider, call.status) == (name, "cancelled") and call.tokens_out > 0


@pytest.mark.parametrize(("first", "second"), [("gemini", "claude"), ("claude", "gemini")])
def test_fallback_works_in_both_directions(first, second, gemini, claude, settings, workspace):
    fakes = {"gemini": gemini, "claude": claude}
    settings.AI_PROVIDERS = [first, second]
    fakes[first].behaviours.extend(["503", "503"])

    events = collect(request=ask(), workspace=workspace)

    assert text_of(events) == fakes[second].reply
    assert events[-1]["provider"] == second and events[-1]["model"] == fakes[second].model
    assert list(ProviderCall.objects.order_by("id").values_list("provider", "status")) == [
        (first, "error"),
        (first, "error"),
        (second, "ok"),
    ]


@pytest.mark.parametrize(("first", "second"), [("gemini", "claude"), ("claude", "gemini")])
def test_a_mid_answer_break_falls_back_in_both_directions(first, second, gemini, claude, settings, workspace):
    fakes = {"gemini": gemini, "claude": claude}
    settings.AI_PROVIDERS = [first, second]
    fakes[first].behaviours.append("error")

    events = collect(request=ask(), workspace=workspace)

    notice = [e["type"] for e in events].index("notice")
    assert text_of(events[notice:]) == fakes[second].reply and events[-1]["provider"] == second


def test_all_four_hosted_providers_stream_through_the_router_in_the_default_order(gemini, claude, settings, workspace):
    openai_fake, groq_fake = FakeOpenAI().start(), FakeOpenAI().start()
    try:
        groq_fake.reply = "Groq says: email the cart abandoners."
        openai_fake.reply = "OpenAI says: retarget the viewers."
        gemini.reply, claude.reply = "Gemini says: reward repeat buyers.", "Claude says: welcome the newcomers."
        settings.AI_PROVIDERS = ["groq", "openai", "gemini", "claude", "local"]
        settings.GROQ_BASE_URL, settings.GROQ_API_KEY = groq_fake.base_url, "sk-test-valid-key-1234"
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = openai_fake.base_url, "sk-test-valid-key-1234"
        answered = []
        # Each provider fails in turn (twice: the retry too), so the next one in the order answers.
        for failing in ([], [groq_fake], [groq_fake, openai_fake], [groq_fake, openai_fake, gemini]):
            for fake in failing:
                fake.behaviours.extend(["500", "500"])
            events = collect(request=ask(), workspace=workspace)
            answered.append((events[-1]["provider"], text_of(events)))
    finally:
        openai_fake.stop()
        groq_fake.stop()

    assert answered == [
        ("groq", groq_fake.reply),
        ("openai", openai_fake.reply),
        ("gemini", gemini.reply),
        ("claude", claude.reply),
    ]


def test_providers_without_a_key_are_skipped(gemini, claude, settings, workspace):
    settings.AI_PROVIDERS = ["groq", "openai", "gemini", "claude", "local"]
    settings.GROQ_API_KEY = settings.OPENAI_API_KEY = settings.GEMINI_API_KEY = ""

    events = collect(request=ask(), workspace=workspace)

    assert events[-1]["provider"] == "claude" and gemini.requests == []


# The fakes against what the real SDKs send and read (shared fixtures; skipped without them).


def _captured(name: str) -> dict:
    path = SHARED / "captured" / name
    if not path.exists():
        pytest.skip("shared fixtures are not available")
    return json.loads(path.read_text())[0]


def test_the_gemini_request_has_the_shape_the_sdk_capture_shows(gemini, settings, workspace):
    captured = _captured("google-genai-3.6.1__stream_generate_content_request.json")
    settings.AI_PROVIDERS = ["gemini"]

    collect(request=ask("Ideas for a spring sale?"), workspace=workspace)

    sent = gemini.completions[0]
    assert sent["path"].endswith(f"/models/{gemini.model}:streamGenerateContent?alt=sse")
    assert sent["path"].split("/models/")[0].lstrip("/").startswith("v1")
    assert captured["path"].split("/models/")[1].endswith(":streamGenerateContent?alt=sse")
    assert sent["headers"]["x-goog-api-key"] == "fake-valid-key-1234"
    assert set(captured["body"]) <= set(sent["body"])
    assert sent["body"]["contents"] == [{"parts": [{"text": "Ideas for a spring sale?"}], "role": "user"}]
    assert sent["body"]["contents"][0].keys() == captured["body"]["contents"][0].keys()
    assert sent["body"]["systemInstruction"]["parts"][0]["text"].startswith("Be brief.")
    assert sent["body"]["systemInstruction"].keys() == captured["body"]["systemInstruction"].keys()


def test_the_claude_request_has_the_shape_the_sdk_capture_shows(claude, settings, workspace):
    captured = _captured("anthropic-2.17.0__messages_stream_request.json")
    settings.AI_PROVIDERS = ["claude"]

    collect(request=ask("Ideas for a spring sale?"), workspace=workspace)

    sent = claude.completions[0]
    assert sent["path"] == captured["path"] == "/v1/messages"
    assert sent["headers"]["anthropic-version"] == captured["headers"]["anthropic-version"]
    assert claude.key_of(sent["headers"]) == "fake-valid-key-1234"
    assert set(sent["body"]) >= set(captured["body"])
    assert sent["body"]["stream"] is True and sent["body"]["system"].startswith("Be brief.")
    assert sent["body"]["messages"] == [{"role": "user", "content": "Ideas for a spring sale?"}]


@pytest.mark.parametrize(
    ("name", "fixture"),
    [("gemini", "gemini_stream_generate_content.sse"), ("claude", "anthropic_messages_stream.sse")],
)
def test_the_documented_stream_is_read_into_the_text_and_usage(name, fixture, request, settings, workspace):
    path = SHARED / "documented" / "ai" / fixture
    if not path.exists():
        pytest.skip("shared fixtures are not available")
    fake = request.getfixturevalue(name)
    settings.AI_PROVIDERS = [name]
    fake.behaviours.append(f"replay:{path}")

    events = collect(request=ask(), workspace=workspace)

    assert text_of(events) == "Hello from the fake: segment your list."
    usage = events[-1]
    assert (usage["provider"], usage["tokensIn"], usage["tokensOut"]) == (name, 5, 7)
    assert usage["model"] == ("gemini-x" if name == "gemini" else "claude-x")


def test_the_fakes_speak_the_documented_wire_format(gemini, claude, settings, workspace):
    """Our fakes' own streams have the event sequence of the documented fixtures."""
    for name, fake, fixture in (
        ("gemini", gemini, "gemini_stream_generate_content.sse"),
        ("claude", claude, "anthropic_messages_stream.sse"),
    ):
        path = SHARED / "documented" / "ai" / fixture
        if not path.exists():
            pytest.skip("shared fixtures are not available")
        documented = path.read_bytes()
        fake.requests.append({"method": "POST", "path": f"/v1beta/models/{fake.model}:streamGenerateContent"})
        ours = b"".join(fake.events({"model": fake.model}, ["Hello", " from"], "ok"))
        if name == "claude":
            kinds = [line for line in documented.split(b"\n") if line.startswith(b"event:")]
            assert [line for line in ours.split(b"\n") if line.startswith(b"event:")] == [
                kind for index, kind in enumerate(kinds) if kind != b"event: content_block_delta" or index < 5
            ]
        else:
            assert documented.count(b"\r\n\r\n") == documented.count(b"data: ") and ours.count(b"\r\n\r\n") == 2
            last = json.loads(ours.split(b"\r\n\r\n")[-2].removeprefix(b"data: "))
            documented_last = json.loads(documented.split(b"\r\n\r\n")[-2].removeprefix(b"data: "))
            assert last.keys() == documented_last.keys()
            assert last["usageMetadata"].keys() == documented_last["usageMetadata"].keys()
