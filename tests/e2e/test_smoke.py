import pytest

pytestmark = [pytest.mark.e2e]


def test_landing_page_renders_in_a_real_browser(page):
    page.goto("/")
    assert "Turn your customer data into campaigns" in page.text_content("h1")
