import pytest

pytestmark = [pytest.mark.e2e]


def test_landing_page_renders_in_a_real_browser(page):
    page.goto("/")
    assert "Turn your customer data into campaigns" in page.text_content("h1")


def test_the_landing_page_loads_every_resource_it_asks_for(page):
    broken = []
    page.on("response", lambda response: response.status >= 400 and broken.append((response.status, response.url)))
    page.on("requestfailed", lambda request: broken.append(("failed", request.url)))
    page.goto("/")
    page.wait_for_load_state("networkidle")

    assert broken == []
