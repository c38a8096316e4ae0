"""The chat in a real browser over the real websocket: the answer grows, survives a reload, resumes mid-answer."""

import time

import pytest
from playwright.sync_api import expect

from tests.chat.fake_llm import fake_llm_as_provider

pytestmark = [pytest.mark.e2e]

WORDS = [f"insight{i} " for i in range(30)]


@pytest.fixture
def slow_model(settings):
    with fake_llm_as_provider(settings, words=list(WORDS), delay=0.08) as fake:
        yield fake


def log_in_and_open_a_conversation(page, user, password):
    page.goto("/login/?next=/chat/")
    page.fill("#id_email", user.email)
    page.fill("#id_password", password)
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/chat/")
    page.click("button:has-text('New conversation')")
    page.wait_for_url("**/chat/*/")
    page.wait_for_selector("#chat[data-connected='1']")


def assistant_text(page) -> str:
    return page.locator(".message-assistant .message-body").last.inner_text()


def test_ask_a_question_see_the_answer_grow_then_reload_and_see_it_kept(page, user, password, slow_model):
    log_in_and_open_a_conversation(page, user, password)
    page.fill("#chat-input", "How does my funnel look this week?")
    page.press("#chat-input", "Enter")
    assert "How does my funnel look this week?" in page.locator(".message-user").last.inner_text()

    page.wait_for_selector(".message-assistant")
    lengths, deadline = [], time.monotonic() + 15
    while time.monotonic() < deadline:
        status = page.locator(".message-assistant").last.get_attribute("data-status")
        lengths.append(len(assistant_text(page).strip()))
        if status and status not in ("typing", "streaming"):
            break
        time.sleep(0.1)
    growing = sorted({n for n in lengths if n})
    assert len(growing) >= 3, f"the answer did not appear chunk by chunk: {lengths}"

    page.wait_for_selector(".message-assistant .message-body.markdown")  # the rendered message swapped in
    final = assistant_text(page)
    assert final.strip() == "".join(WORDS).strip()

    page.reload()
    assert page.locator(".message-user").last.inner_text().endswith("How does my funnel look this week?")
    assert assistant_text(page).strip() == "".join(WORDS).strip()


def test_reloading_during_an_answer_resumes_it(page, user, password, slow_model):
    log_in_and_open_a_conversation(page, user, password)
    page.fill("#chat-input", "Tell me everything")
    page.press("#chat-input", "Enter")
    page.wait_for_function(
        "(() => { const b = document.querySelector('.message-assistant .message-body');"
        " return b && b.textContent.length > 40; })()"
    )
    page.reload()
    page.wait_for_selector(".message-assistant .message-body.markdown", timeout=15_000)
    assert assistant_text(page).strip() == "".join(WORDS).strip()


@pytest.fixture
def listing_model(settings):
    words = ["Three ideas:\n", "- **Win back** cart abandoners\n", "- Thank repeat buyers\n", "- Welcome new visitors"]
    with fake_llm_as_provider(settings, words=words, delay=0.4) as fake:
        fake.first_delay = 1.0  # the typing indicator stays up long enough for the test to see it
        yield fake


def test_the_answer_shows_typing_then_streams_with_stop_then_renders_markdown_and_the_title(
    page, user, password, listing_model
):
    log_in_and_open_a_conversation(page, user, password)
    stop = page.locator("#chat-stop")
    expect(stop).to_be_hidden()  # nothing to stop before a question
    expect(page.locator("#chat-title")).to_have_text("New conversation")

    page.fill("#chat-input", "Summarize how my shop is doing")
    page.press("#chat-input", "Enter")

    expect(page.locator(".message-assistant .typing")).to_be_visible()
    expect(stop).to_be_visible()
    expect(page.locator(".message-assistant").last).to_have_attribute("data-status", "streaming")
    expect(page.locator(".message-assistant .message-body.markdown li")).to_have_count(3, timeout=15_000)
    expect(page.locator(".message-assistant .message-body.markdown strong")).to_have_text("Win back")
    expect(stop).to_be_hidden()
    expect(page.locator("#chat-title")).to_have_text("Summarize how my shop is doing")
    expect(page.locator("#conversation-list .active")).to_have_text("Summarize how my shop is doing")
    expect(page.locator("#toasts .toast")).to_have_count(0)
