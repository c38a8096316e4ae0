import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from ai.models import ProviderCall
from campaigns.brand import brand_asset_upload
from campaigns.content import fit_to_platform, offline_copy, variant_generate
from campaigns.models import BrandProfile, ComplianceCheck
from campaigns.platforms import PLATFORMS

from .factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_copy_is_fitted_to_the_x_limit_with_its_hashtags():
    copy = {"headline": "A" * 90, "body": "word " * 100, "hashtags": ["one", "two", "three", "four"], "cta": "Shop now"}

    fitted = fit_to_platform(copy=copy, spec=PLATFORMS["x"], brand=None)

    assert fitted["hashtags"] == ["One", "Two"]
    assert len(fitted["body"] + " #One #Two") <= 280
    assert fitted["body"].endswith("…")
    assert len(fitted["headline"]) <= PLATFORMS["x"].max_headline


def test_the_brand_can_lower_the_hashtag_count():
    brand = BrandProfile(layout={"maxHashtags": 1})
    copy = {"headline": "h", "body": "b", "hashtags": ["a", "b", "c"], "cta": "Shop now"}
    assert fit_to_platform(copy=copy, spec=PLATFORMS["instagram"], brand=brand)["hashtags"] == ["A"]


def test_email_gets_no_hashtags():
    copy = {"headline": "h", "body": "b", "hashtags": ["a"], "cta": "Shop now"}
    assert fit_to_platform(copy=copy, spec=PLATFORMS["email"], brand=None)["hashtags"] == []


def test_the_offline_copy_is_written_from_the_campaign(workspace):
    campaign = CampaignFactory.build(
        workspace=workspace,
        name="Winter boots",
        objective="Sell boots online",
        key_message="Warm feet all winter",
        offer="Free shipping",
        segment="new_buyers",
    )
    copy = offline_copy(campaign=campaign, brand=None, spec=PLATFORMS["instagram"])
    assert copy == {
        "headline": "Winter boots",
        "body": "Warm feet all winter. Free shipping. Shop now.",
        "hashtags": ["WinterBoots", "NewBuyers"],
        "cta": "Shop now",
    }


def _logo_upload() -> SimpleUploadedFile:
    image = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((0, 0, 119, 119), fill=(255, 255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile("logo.png", buffer.getvalue())


def test_a_generated_variant_carries_the_logo_and_passes_a_strict_brand(workspace, user):
    BrandProfile.objects.create(
        workspace=workspace,
        palette=["#5B4BFF", "#141833"],
        logo_requirements={"required": True, "position": "top-left", "minWidthRatio": 0.1},
    )
    brand_asset_upload(workspace=workspace, user=user, upload=_logo_upload(), kind="logo")
    campaign = CampaignFactory(workspace=workspace, created_by=user, objective="Sell the spring collection")

    variant = variant_generate(campaign=campaign, platform="facebook", job=None, user=user)

    assert variant.metadata["logo"]["present"] is True
    assert variant.metadata["logo"]["position"] == "top-left"
    assert variant.compliance_breakdown["logo"]["score"] == 1.0
    assert variant.validation_status == "passed"
    assert (variant.image_width, variant.image_height) == (1200, 628)
    assert ComplianceCheck.objects.filter(variant=variant).count() == 1
    assert set(ProviderCall.objects.values_list("purpose", flat=True)) == {"content", "image"}


def test_a_banned_word_in_the_campaign_sends_the_variant_to_manual_review(workspace, user):
    BrandProfile.objects.create(workspace=workspace, palette=["#5B4BFF"], banned_words=["cheap"])
    campaign = CampaignFactory(
        workspace=workspace,
        created_by=user,
        name="Cheap boots",
        objective="Sell boots",
        key_message="Cheap boots for everyone",
    )

    variant = variant_generate(campaign=campaign, platform="linkedin", job=None, user=user)

    checks = {c["rule"]: c for c in variant.compliance_breakdown["typography"]["checks"]}
    assert checks["no banned words"] == {
        "rule": "no banned words",
        "passed": False,
        "detail": "cheap",
        "blocking": True,
    }
    assert variant.compliance_score >= workspace.compliance_threshold  # the score alone would pass...
    assert variant.validation_status == "manual_review"  # ...but a banned word always goes to review


def test_a_new_generation_replaces_the_current_variant_of_the_platform(workspace, user):
    campaign = CampaignFactory(workspace=workspace, created_by=user)
    first = variant_generate(campaign=campaign, platform="x", job=None, user=user)
    second = variant_generate(campaign=campaign, platform="x", job=None, user=user)

    first.refresh_from_db()
    assert (first.is_current, second.is_current) == (False, True)
    assert list(campaign.variants.filter(is_current=True)) == [second]


def test_model_json_copy_is_validated_and_used(fake, workspace, user):
    fake.behaviours.append(
        'text:{"headline": "Boots for the first frost", "body": "Warm, waterproof and ready. Shop now",'
        ' "hashtags": ["winter boots", "frost"], "cta": "Shop now"}'
    )
    campaign = CampaignFactory(workspace=workspace, created_by=user)

    variant = variant_generate(campaign=campaign, platform="x", job=None, user=user)

    assert (variant.headline, variant.hashtags, variant.metadata["copySource"]) == (
        "Boots for the first frost",
        ["WinterBoots", "Frost"],
        "provider",
    )
    request = fake.completions[0]["body"]
    assert request["response_format"] == {"type": "json_object"}
    assert ProviderCall.objects.filter(purpose="content").count() == 1  # logged once, by the router


def test_a_model_answer_that_is_not_the_json_asked_for_falls_back_to_the_offline_copy(fake, workspace, user):
    fake.behaviours.append("text:Sure! Here is a great post about boots.")
    campaign = CampaignFactory(workspace=workspace, created_by=user, name="Frost boots")

    variant = variant_generate(campaign=campaign, platform="linkedin", job=None, user=user)

    assert variant.metadata["copySource"] == "offline"
    assert variant.headline == "Frost boots"


def test_the_model_is_asked_to_feature_the_products_the_campaigns_segment_is_likely_to_buy(fake, workspace, user):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.models import DataSource
    from integrations.pipeline.schema import EventRecord
    from integrations.pipeline.store import events_store
    from integrations.recommendations.services import recommendations_refresh

    source = DataSource.objects.create(workspace=workspace, source_type="gtm", name="Site")
    moment = timezone.now() - timedelta(days=2)

    def item_events(event_type: str, prefix: str, item_id: str, item_name: str) -> list[EventRecord]:
        """Three customers' `event_type` events on one product."""
        return [
            EventRecord(
                external_id=f"{prefix}{n}",
                event_type=event_type,
                occurred_at=moment,
                customer_key=f"{prefix}k{n}",
                properties={"items": [{"item_id": item_id, "item_name": item_name}]},
            )
            for n in range(3)
        ]

    carts = item_events("add_to_cart", "c", "B7", "Trail Boot")
    views = item_events("view_item", "v", "S1", "Sock")
    events_store(source=source, records=carts + views)
    recommendations_refresh(workspace_id=workspace.id)
    fake.behaviours.append(
        'text:{"headline": "Boots", "body": "Still thinking? Shop now", "hashtags": [], "cta": "Shop"}'
    )
    campaign = CampaignFactory(workspace=workspace, created_by=user, segment="cart_abandoners")

    variant_generate(campaign=campaign, platform="x", job=None, user=user)

    prompt = " ".join(m["content"] for m in fake.completions[0]["body"]["messages"])
    assert "Products this audience is most likely to buy next: Trail Boot (viewed or put in the cart by 3" in prompt
