"""The model picker of the chat composer in a real browser: the picked model answers, and the answer says so."""

import pytest
from playwright.sync_api import expect

from tests.ai.fake_providers import FakeGemini, fake_providers_settings

from .test_chat import log_in_and_open_a_conversation

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def gemini_model(settings):
    fake = FakeGemini().start()
    fake.reply = "Start with the cart abandoners."
    fake_providers_settings(settings, gemini=fake)
    settings.AI_PROVIDERS = ["gemini", "local"]
    yield fake
    fake.stop()


def test_a_picked_model_answers_and_the_answer_names_it(page, user, password, gemini_model):
    log_in_and_open_a_conversation(page, user, password)
    picker = page.locator("#chat-model")
    expect(picker.locator("optgroup[label='Google Gemini'] option")).to_have_count(3)

    picker.select_option("gemini:gemini-2.5-pro")
    page.fill("#chat-input", "How does my funnel look this week?")
    page.press("#chat-input", "Enter")

    answer = page.locator(".message-assistant").last
    expect(answer.locator(".message-body.markdown")).to_contain_text("Start with the cart abandoners.")
    expect(answer.locator(".answered-by")).to_have_text("Google Gemini · gemini-2.5-pro")
    paths = [r["path"] for r in gemini_model.completions]
    assert any("/models/gemini-2.5-pro:streamGenerateContent" in path for path in paths)
