"""The "Send us your data" page: snippets with the workspace's own write keys, nothing of another workspace."""

import pytest

from integrations.models import DataSource

pytestmark = pytest.mark.django_db


def test_the_page_shows_each_snippet_with_the_workspaces_own_keys(logged_in_client, workspace, other_workspace_user):
    gtm = DataSource.objects.create(
        workspace=workspace, source_type="gtm", name="Site", config={"containerId": "GTM-A1B2C3"}
    )
    seg = DataSource.objects.create(workspace=workspace, source_type="segment", name="Backend")
    pixel = DataSource.objects.create(
        workspace=workspace, source_type="facebook_pixel", name="Pixel", config={"pixelId": "123456789012345"}
    )
    theirs = DataSource.objects.create(
        workspace=other_workspace_user.current_workspace, source_type="segment", name="Theirs"
    )

    page = logged_in_client.get("/sources/send-data/").content.decode()

    assert f"/api/collect/{gtm.write_key}" in page
    assert f'analytics.write_key = "{seg.write_key}"' in page
    assert f"/v21.0/123456789012345/events?access_token={pixel.write_key}" in page
    assert theirs.write_key not in page


def test_without_sources_each_section_says_how_to_get_a_key(logged_in_client):
    page = logged_in_client.get("/sources/send-data/").content.decode()

    assert "No Segment source yet" in page and "No Meta Pixel source yet" in page


def test_the_sources_page_links_to_it(logged_in_client):
    assert "/sources/send-data/" in logged_in_client.get("/sources/").content.decode()
