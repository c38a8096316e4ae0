"""A recommendation becomes a campaign, gets content, is submitted and approved — in a real browser."""

import pytest
from playwright.sync_api import expect

from accounts.models import Membership, User
from campaigns.models import Campaign, CampaignRecommendation
from campaigns.services import campaign_create_from_recommendation
from campaigns.workflow import campaign_submit

from ..campaigns.factories import scored_variant
from .conftest import PASSWORD, owner_register, sign_in

pytestmark = [pytest.mark.e2e]

# Fire the campaign's live event and resolve once the approvals region's refresh has been answered and swapped
# (or held back): the swap runs right after htmx:beforeSwap, which fires while the old region is still in place.
# The approvals refresh at most once a second (hx-trigger throttle), so the event is sent again until they do: a
# live event the server sent just before (the submission's) may have opened that window. Never waits forever.
REFRESHED_BY_A_LIVE_EVENT = """pk => new Promise((resolve, reject) => {
  const fire = () => document.body.dispatchEvent(new CustomEvent("live-campaign-" + pk));
  const again = setInterval(fire, 1100);
  const givenUp = setTimeout(() => {
    clearInterval(again);
    reject(new Error("the approvals were not refreshed within 10 s"));
  }, 10000);
  document.addEventListener("htmx:beforeSwap", e => {
    if (e.detail.target.id !== "approvals") return;
    clearInterval(again);
    clearTimeout(givenUp);
    setTimeout(resolve, 100);
  });
  fire();
})"""


@pytest.fixture
def team(transactional_db):
    owner = owner_register("owner@acme.test")
    approver = User.objects.create_user(
        email="approver@acme.test", password=PASSWORD, first_name="Bo", last_name="Approver"
    )
    Membership.objects.create(user=approver, workspace=owner.current_workspace, role=Membership.Role.APPROVER)
    approver.current_workspace = owner.current_workspace
    approver.save(update_fields=["current_workspace"])
    recommendation = CampaignRecommendation.objects.create(
        workspace=owner.current_workspace,
        created_by=owner,
        segment="high_value",
        name="VIP early access",
        objective="Grow repeat purchases from high-value customers",
        channels=["instagram", "email"],
        audience_size=42,
        key_message="Our best customers see the new collection first",
        offer="15% off for 48 hours",
        rationale="High-value customers buy again twice as often after a personal offer.",
    )
    return owner, approver, recommendation


def test_a_recommendation_is_turned_into_an_approved_campaign(page, live_asgi_server, team, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    owner, approver, recommendation = team

    sign_in(page, owner, live_asgi_server)
    page.goto("/campaigns/")
    card = page.locator(f"[data-recommendation='{recommendation.pk}']")
    expect(card).to_contain_text("VIP early access")
    card.get_by_role("button", name="Create campaign").click()

    expect(page.locator("h1")).to_contain_text("VIP early access")
    expect(page.locator("#campaign-status")).to_have_text("Draft")
    expect(page.locator(".rationale")).to_contain_text("twice as often")

    page.locator("#content input[value='email']").uncheck()
    page.locator("#content input[value='instagram']").check()
    page.locator("#generate-content").click()
    variant = page.locator("article.variant[data-platform='instagram']")
    expect(variant).to_be_visible()
    expect(variant.locator(".badge.not_scored")).to_have_text("Not scored")  # no brand profile in this workspace
    expect(variant.locator("img")).to_be_visible()

    page.locator("#submit-for-approval").click()
    expect(page.locator("#campaign-status")).to_have_text("In review")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # four-eyes: not for the requester
    expect(page.locator(".four-eyes")).to_contain_text("someone else must approve it")

    sign_in(page, approver, live_asgi_server)
    page.reload()
    page.locator(".decision-form textarea").fill("Looks on brand")
    page.get_by_role("button", name="Approve").click()

    expect(page.locator("#campaign-status")).to_have_text("Approved")
    expect(page.locator(".timeline")).to_contain_text("Looks on brand")
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.recommendation_id) == ("approved", recommendation.pk)


def test_a_live_refresh_on_its_way_does_not_wipe_the_approvers_comment(
    page, live_asgi_server, team, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    owner, approver, recommendation = team
    campaign = campaign_create_from_recommendation(user=owner, recommendation=recommendation)
    scored_variant(campaign=campaign, user=owner)
    campaign_submit(campaign=campaign, user=owner)

    sign_in(page, approver, live_asgi_server)
    page.goto(f"/campaigns/{campaign.pk}/")
    comment = page.locator(".decision-form textarea")
    comment.fill("Looks on brand")
    page.locator("h1").click()  # the focus leaves the approvals, so the next live event refreshes them
    page.evaluate(REFRESHED_BY_A_LIVE_EVENT, campaign.pk)

    expect(comment).to_have_value("Looks on brand")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".timeline")).to_contain_text("Looks on brand")
