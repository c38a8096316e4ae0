import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.models import Membership
from campaigns.models import BrandAsset, BrandProfile, Campaign
from campaigns.workflow import campaign_submit

from .factories import CampaignFactory, RecommendationFactory, member, scored_variant

pytestmark = pytest.mark.django_db


def test_the_board_shows_a_column_per_status(logged_in_client, workspace, user, django_assert_max_num_queries):
    CampaignFactory(workspace=workspace, created_by=user, name="Winter promo", status="in_review")
    CampaignFactory.create_batch(5, workspace=workspace, created_by=user, status="draft")

    with django_assert_max_num_queries(16):
        response = logged_in_client.get(reverse("campaigns:campaign-list"))

    html = response.content.decode()
    assert response.status_code == 200
    for label in ("Draft", "In review", "Approved", "Scheduled", "Active", "Completed", "Rejected"):
        assert label in html
    assert "Winter promo" in html


def test_the_board_has_an_empty_state(logged_in_client):
    assert "No campaigns yet" in logged_in_client.get(reverse("campaigns:campaign-list")).content.decode()


def test_the_create_form_shows_inline_errors_with_422(logged_in_client):
    response = logged_in_client.post(reverse("campaigns:campaign-new"), {"name": "", "objective": "x", "budget": "-3"})
    assert response.status_code == 422
    assert "This field is required" in response.content.decode()
    assert not Campaign.objects.exists()


def test_the_create_form_creates_and_redirects(logged_in_client):
    response = logged_in_client.post(
        reverse("campaigns:campaign-new"),
        {"name": "Launch", "objective": "Launch the app", "budget": "10", "channels": ["x", "linkedin"]},
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("campaigns:campaign-detail", args=[campaign.pk])
    assert campaign.channels == ["x", "linkedin"]


def test_a_recommendation_becomes_a_campaign_in_one_post(logged_in_client, workspace, user):
    recommendation = RecommendationFactory(workspace=workspace)

    response = logged_in_client.post(reverse("campaigns:from-recommendation", args=[recommendation.pk]))

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("campaigns:campaign-detail", args=[campaign.pk])
    assert campaign.recommendation == recommendation
    detail = logged_in_client.get(response.url).content.decode()
    assert recommendation.rationale in detail


def test_another_workspaces_recommendation_and_campaign_are_404(logged_in_client, other_workspace_user):
    other = other_workspace_user.current_workspace
    recommendation = RecommendationFactory(workspace=other)
    campaign = CampaignFactory(workspace=other)

    assert logged_in_client.post(reverse("campaigns:from-recommendation", args=[recommendation.pk])).status_code == 404
    assert logged_in_client.get(reverse("campaigns:campaign-detail", args=[campaign.pk])).status_code == 404


def test_the_detail_shows_variants_with_their_breakdown_and_image(logged_in_client, workspace, user):
    BrandProfile.objects.create(workspace=workspace, palette=["#5B4BFF"])
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    variant = scored_variant(campaign=campaign, user=user)

    html = logged_in_client.get(reverse("campaigns:campaign-detail", args=[campaign.pk])).content.decode()
    image = logged_in_client.get(reverse("campaigns:variant-image", args=[campaign.pk, variant.pk]))

    assert "Compliance breakdown" in html
    assert str(variant.compliance_score) in html
    assert "pixels on palette" in html
    assert "Submit for approval" in html
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_only_the_steps_approver_sees_the_decision_buttons(client, workspace, user):
    approver = member(workspace=workspace, role=Membership.Role.APPROVER)
    viewer = member(workspace=workspace, role=Membership.Role.VIEWER)
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    scored_variant(campaign=campaign, user=user)
    campaign_submit(campaign=campaign, user=user)
    url = reverse("campaigns:campaign-detail", args=[campaign.pk])

    client.force_login(viewer)
    viewer_html = client.get(url).content.decode()
    client.force_login(user)  # the owner created it: four-eyes hides the buttons
    owner_html = client.get(url).content.decode()
    client.force_login(approver)
    approver_html = client.get(url).content.decode()

    assert 'value="approve"' not in viewer_html
    assert 'value="approve"' not in owner_html
    assert 'value="approve"' in approver_html


def _approve_on_the_page_as(client, workspace, user, role):
    """A campaign submitted by `user`; a member with `role` posts "approve" on its step through the page."""
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    scored_variant(campaign=campaign, user=user)
    step = campaign_submit(campaign=campaign, user=user).steps.get()
    client.force_login(member(workspace=workspace, role=role))
    response = client.post(reverse("campaigns:approval-decision", args=[step.pk]), {"decision": "approve"})
    return campaign, response


def test_an_approver_approves_through_the_page(client, workspace, user):
    campaign, response = _approve_on_the_page_as(client, workspace, user, Membership.Role.APPROVER)

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "approved"


def test_a_forbidden_decision_on_the_page_is_a_403_with_the_message(client, workspace, user):
    _, response = _approve_on_the_page_as(client, workspace, user, Membership.Role.VIEWER)

    assert response.status_code == 403
    assert "Your role (viewer) cannot decide approval steps." in response.content.decode()


def test_generate_from_the_page_creates_variants(logged_in_client, workspace, user, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            reverse("campaigns:campaign-generate", args=[campaign.pk]), {"platforms": ["linkedin"]}
        )
    assert response.status_code == 302
    assert campaign.variants.get().platform == "linkedin"


def test_the_brand_profile_editor_saves_and_shows_errors(logged_in_client, workspace):
    url = reverse("campaigns:brand-profile")
    assert logged_in_client.get(url).status_code == 200

    bad = logged_in_client.post(url, {"palette": "#12345G"})
    good = logged_in_client.post(
        url,
        {
            "palette": "#5B4BFF, #141833",
            "banned_words": "cheap, free",
            "fonts": "Inter",
            "logo_required": "on",
            "logo_position": "top-left",
            "require_cta": "on",
        },
    )

    assert bad.status_code == 422 and "is not a hex colour" in bad.content.decode()
    assert good.status_code == 302
    profile = BrandProfile.objects.get(workspace=workspace)
    assert profile.palette == ["#5B4BFF", "#141833"]
    assert profile.logo_requirements == {"required": True, "position": "top-left"}
    assert profile.banned_words == ["cheap", "free"]


def test_an_asset_upload_checks_the_real_format(logged_in_client):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (0, 0, 0)).save(buffer, format="PNG")
    url = reverse("campaigns:brand-asset-new")

    fake = logged_in_client.post(url, {"file": SimpleUploadedFile("logo.png", b"not an image"), "kind": "logo"})
    real = logged_in_client.post(url, {"file": SimpleUploadedFile("logo", buffer.getvalue()), "kind": "logo"})

    assert fake.status_code == 422 and "not a PNG, JPEG or WEBP" in fake.content.decode()
    assert real.status_code == 302
    assert BrandAsset.objects.get().image_format == "PNG"


def test_pages_need_a_login(client):
    response = client.get(reverse("campaigns:campaign-list"))
    assert response.status_code == 302 and "login" in response.url


def test_the_content_section_is_served_alone_to_htmx_polling(logged_in_client, workspace, user):
    BrandProfile.objects.create(workspace=workspace, palette=["#5B4BFF"])
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    scored_variant(campaign=campaign, user=user)

    response = logged_in_client.get(
        reverse("campaigns:campaign-detail", args=[campaign.pk]), {"fragment": "content"}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card section" id="content"')
    assert "Compliance breakdown" in html and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_a_variant_reads_not_scored_until_a_brand_profile_exists(logged_in_client, workspace, user):
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    scored_variant(campaign=campaign, user=user)

    html = logged_in_client.get(reverse("campaigns:campaign-detail", args=[campaign.pk])).content.decode()

    assert "Not scored" in html and "Set up your brand" in html
    assert "Compliance breakdown" not in html


def test_the_author_of_a_submitted_campaign_is_told_about_the_four_eyes_rule(logged_in_client, workspace, user):
    BrandProfile.objects.create(workspace=workspace, palette=["#5B4BFF"])
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    scored_variant(campaign=campaign, user=user)
    campaign_submit(campaign=campaign, user=user)

    html = logged_in_client.get(reverse("campaigns:campaign-detail", args=[campaign.pk])).content.decode()

    assert "Four-eyes rule" in html and "invite a colleague" in html
    assert 'value="approve"' not in html
