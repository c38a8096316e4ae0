"""Test data for campaigns: members with roles, recommendations, campaigns and scored variants."""

import factory
from PIL import Image

from accounts.models import Membership, User
from campaigns.content import variant_store
from campaigns.models import Campaign, CampaignRecommendation

PASSWORD = "Correct-Horse-42"


def member(*, workspace, role: str, email: str | None = None) -> User:
    """A user who belongs to `workspace` with `role` (and works in it now)."""
    email = email or f"{role}-{User.objects.count() + 1}@acme.test"
    user = User.objects.create_user(email=email, password=PASSWORD, first_name=role.title(), last_name="Member")
    Membership.objects.create(user=user, workspace=workspace, role=role)
    user.current_workspace = workspace
    user.save(update_fields=["current_workspace"])
    return user


class RecommendationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignRecommendation

    segment = "high_value"
    name = factory.Sequence(lambda n: f"VIP weekend {n}")
    objective = "Grow repeat purchases from high-value customers"
    channels = factory.LazyFunction(lambda: ["instagram", "email"])
    audience_size = 120
    key_message = "Thank our best customers with early access"
    offer = "15% off the new collection"
    kpi_targets = factory.LazyFunction(lambda: {"conversionRate": 0.04, "budget": "500"})
    rationale = "High-value customers buy twice as often after a personal offer."
    provider = "local"


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Spring sale {n}")
    objective = "Drive purchases in spring"
    segment = "high_value"
    channels = factory.LazyFunction(lambda: ["instagram"])


def on_palette_image(size=(1080, 1350), colour=(91, 75, 255)) -> Image.Image:
    return Image.new("RGB", size, colour)


def scored_variant(*, campaign: Campaign, user=None, platform: str = "instagram", **copy):
    """A stored variant scored for real (image rendered in memory, no brand rules unless the workspace has them)."""
    values = {
        "headline": "Spring sale",
        "body": "New arrivals for you. Shop now.",
        "hashtags": ["Spring"],
        "cta": "Shop now",
    }
    values.update(copy)
    return variant_store(
        campaign=campaign,
        platform=platform,
        job=None,
        user=user,
        copy=values,
        image=on_palette_image(),
        metadata={"logo": {"present": False}},
    )
