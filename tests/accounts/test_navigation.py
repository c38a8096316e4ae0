import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _active_links(html: str) -> list[str]:
    return re.findall(r'class="nav-link active"[^>]*>([^<]+)<', html)


def test_only_the_most_specific_section_is_marked_active(logged_in_client):
    response = logged_in_client.get(reverse("campaigns:brand-profile"))
    assert response.status_code == 200
    assert _active_links(response.content.decode()) == ["Brand"]


def test_the_campaign_board_marks_campaigns_active(logged_in_client):
    response = logged_in_client.get(reverse("campaigns:campaign-list"))
    assert _active_links(response.content.decode()) == ["Campaigns"]
