from decimal import Decimal

import pytest
from PIL import Image

from campaigns.compliance import (
    WEIGHTS,
    colour_score,
    layout_score,
    route,
    score_content,
    typography_score,
    weighted_total,
)
from campaigns.models import BrandProfile, ComplianceCheck
from campaigns.platforms import PLATFORMS

from .factories import scored_variant

PURPLE = "#5B4BFF"


def test_the_weights_are_the_seeds_and_sum_to_one():
    assert {
        "colour": Decimal("0.25"),
        "logo": Decimal("0.30"),
        "typography": Decimal("0.20"),
        "layout": Decimal("0.25"),
    } == WEIGHTS
    assert sum(WEIGHTS.values()) == Decimal("1")


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({"colour": 1, "logo": 1, "typography": 1, "layout": 1}, Decimal("1.00")),
        ({"colour": 0, "logo": 0, "typography": 0, "layout": 0}, Decimal("0.00")),
        ({"colour": 1, "logo": 0, "typography": 0, "layout": 0}, Decimal("0.25")),
        ({"colour": 0, "logo": 1, "typography": 0, "layout": 0}, Decimal("0.30")),
        ({"colour": 0, "logo": 0, "typography": 1, "layout": 0}, Decimal("0.20")),
        ({"colour": 0, "logo": 0, "typography": 0, "layout": 1}, Decimal("0.25")),
        ({"colour": 1, "logo": 0, "typography": 1, "layout": 1}, Decimal("0.70")),
        ({"colour": 0.5, "logo": 1, "typography": 0.5, "layout": 1}, Decimal("0.78")),  # 0.775 rounds half up
    ],
)
def test_weighted_total_applies_each_weight_exactly(scores, expected):
    assert weighted_total(scores) == expected


def test_routing_passes_at_the_threshold_and_sends_below_it_to_manual_review():
    assert route(Decimal("0.80"), Decimal("0.80")) == "passed"
    assert route(Decimal("0.79"), Decimal("0.80")) == "manual_review"
    assert route(Decimal("0.95"), Decimal("0.90")) == "passed"
    assert route(Decimal("0.95"), Decimal("0.80"), blocking=["no banned words: cheap"]) == "manual_review"


def test_colour_score_is_measured_from_the_image_pixels():
    on_palette = Image.new("RGB", (200, 200), (91, 75, 255))
    off_palette = Image.new("RGB", (200, 200), (0, 200, 0))
    half = Image.new("RGB", (200, 200), (0, 200, 0))
    half.paste(on_palette.crop((0, 0, 100, 200)), (0, 0))

    assert colour_score(on_palette, [PURPLE])["score"] == pytest.approx(1.0)
    assert colour_score(off_palette, [PURPLE])["score"] == pytest.approx(0.0)
    assert colour_score(half, [PURPLE])["score"] == pytest.approx(0.5, abs=0.02)


def test_typography_flags_banned_words_on_whole_words_only():
    spec = PLATFORMS["instagram"]
    flagged = typography_score(
        headline="Cheap deals", body="Buy now", metadata={}, rules={}, banned=["cheap"], spec=spec
    )
    clean = typography_score(
        headline="Cheaper? No: better", body="Buy now", metadata={}, rules={}, banned=["cheap"], spec=spec
    )
    assert flagged["checks"][0] == {"rule": "no banned words", "passed": False, "detail": "cheap", "blocking": True}
    assert clean["checks"][0]["passed"] is True


def test_layout_checks_the_platform_length_ratio_and_call_to_action():
    spec = PLATFORMS["x"]
    good = layout_score(
        body="Short post. Shop now", hashtags=["Sale"], cta="Shop now", width=1600, height=900, layout={}, spec=spec
    )
    bad = layout_score(body="x" * 300, hashtags=["a", "b", "c"], cta="", width=1080, height=1080, layout={}, spec=spec)
    assert good["score"] == 1.0
    assert {c["rule"]: c["passed"] for c in bad["checks"]} == {
        "image ratio": False,
        "text length": False,
        "hashtag count": False,
        "call to action": False,
    }


def test_score_content_returns_the_breakdown_with_weights():
    brand = BrandProfile(palette=[PURPLE], logo_requirements={"required": True}, banned_words=[])
    score, breakdown = score_content(
        platform="instagram",
        headline="Spring",
        body="New in. Shop now",
        hashtags=["Spring"],
        cta="Shop now",
        image=Image.new("RGB", (1080, 1350), (91, 75, 255)),
        metadata={"logo": {"present": False}},
        brand=brand,
    )
    assert score == Decimal("0.70")
    assert breakdown["logo"]["score"] == 0.0
    assert breakdown["logo"]["weight"] == 0.30
    assert breakdown["colour"]["weighted"] == 0.25


@pytest.mark.django_db
def test_a_stored_variant_below_the_workspace_threshold_goes_to_manual_review(campaign, workspace):
    BrandProfile.objects.create(workspace=workspace, palette=[PURPLE], logo_requirements={"required": True})

    variant = scored_variant(campaign=campaign)

    assert variant.compliance_score == Decimal("0.70")
    assert variant.validation_status == "manual_review"
    check = ComplianceCheck.objects.get(variant=variant)
    assert check.threshold == Decimal("0.80")
    assert check.breakdown["logo"]["checks"][0] == {"rule": "logo present", "passed": False, "detail": "no logo placed"}


@pytest.mark.django_db
def test_the_same_variant_passes_when_the_workspace_threshold_is_lower(campaign, workspace):
    BrandProfile.objects.create(workspace=workspace, palette=[PURPLE], logo_requirements={"required": True})
    workspace.compliance_threshold = Decimal("0.70")
    workspace.save()

    variant = scored_variant(campaign=campaign)

    assert variant.validation_status == "passed"
