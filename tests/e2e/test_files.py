"""Files in a real browser: upload a PDF, see it analysed, open its results, then ask the chat about it and get
an answer that quotes the file and its page."""

import pytest
from playwright.sync_api import expect

from tests.ai.files_helpers import Q3_PAGES, pdf_bytes

from .conftest import sign_in

pytestmark = [pytest.mark.e2e]


def test_a_pdf_uploaded_in_the_browser_is_analysed_then_quoted_by_the_chat(page, user, live_asgi_server):
    sign_in(page, user, live_asgi_server)
    page.goto("/files/")
    expect(page.locator("#file-list .empty")).to_contain_text("No files yet")

    page.set_input_files(
        "#id_file", files=[{"name": "Q3-report.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(Q3_PAGES)}]
    )
    expect(page.locator("[data-chosen]")).to_have_text("Selected: Q3-report.pdf")
    page.click("button:has-text('Upload and analyse')")

    row = page.locator("#file-list tr", has_text="Q3-report.pdf")
    expect(row.locator(".badge")).to_have_text("Analysed", timeout=15_000)
    expect(row).to_contain_text("is a document of 3 pages")

    row.locator("a", has_text="Q3-report.pdf").click()
    expect(page.locator("h1")).to_have_text("Q3-report.pdf")
    expect(page.locator(".facts")).to_contain_text("Page 2: Revenue grew 18% to $1.2M in Q3")
    expect(page.locator(".actions")).to_contain_text("We should double the retargeting budget in October.")
    expect(page.locator(".passages")).to_contain_text("page 3")

    page.goto("/chat/")
    page.click("button:has-text('New conversation')")
    page.wait_for_url("**/chat/*/")
    page.wait_for_selector("#chat[data-connected='1']")
    page.fill("#chat-input", "What does Q3-report.pdf say about revenue?")
    page.press("#chat-input", "Enter")

    answer = page.locator(".message-assistant .message-body.markdown").last
    expect(answer).to_contain_text("According to Q3-report.pdf, page 2:", timeout=15_000)
    expect(answer).to_contain_text("Revenue grew 18% to $1.2M in Q3")


def test_a_bad_file_is_refused_on_the_page_with_the_reason(page, user, live_asgi_server):
    sign_in(page, user, live_asgi_server)
    page.goto("/files/")

    page.set_input_files(
        "#id_file", files=[{"name": "photo.csv", "mimeType": "text/csv", "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 40}]
    )
    page.click("button:has-text('Upload and analyse')")

    expect(page.locator("#uploads .alert.error")).to_contain_text("This file is a PNG image, which cannot be analysed.")
    expect(page.locator("#file-list .empty")).to_be_visible()
