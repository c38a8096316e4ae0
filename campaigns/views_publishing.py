"""Campaign page actions for publishing approved variants to Facebook and Instagram (thin: publishing.py works)."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.views.decorators.http import require_POST

from accounts.policy import policy_page
from marketing_ai.errors import ApplicationError

from .models import Publication
from .publishing import publication_cancel, publication_retry, publication_schedule, variant_from_public_token
from .views import _after_action


class PublishForm(forms.Form):
    variant = forms.IntegerField()
    at = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])


def _publication(campaign, publication_id: int) -> Publication:
    publication = campaign.publications.filter(pk=publication_id).first()
    if publication is None:
        raise Http404("No such post.")
    return publication


@login_required
@require_POST
@policy_page("campaigns.publish")
def campaign_publish(request, campaign_id: int):
    form = PublishForm(request.POST)

    def action(campaign):
        if not form.is_valid():
            raise ApplicationError("Choose a variant and, to schedule, a valid date and time.")
        variant = campaign.variants.filter(pk=form.cleaned_data["variant"]).first()
        if variant is None:
            raise Http404("No such variant.")
        publication_schedule(user=request.user, variant=variant, at=form.cleaned_data["at"])

    scheduled = bool(request.POST.get("at"))
    return _after_action(request, campaign_id, action, "Post scheduled." if scheduled else "Publishing now.")


@login_required
@require_POST
@policy_page("campaigns.publish")
def publication_cancel_page(request, campaign_id: int, publication_id: int):
    def action(campaign):
        publication_cancel(user=request.user, publication=_publication(campaign, publication_id))

    return _after_action(request, campaign_id, action, "Scheduled post cancelled.")


@login_required
@require_POST
@policy_page("campaigns.publish")
def publication_retry_page(request, campaign_id: int, publication_id: int):
    def action(campaign):
        publication_retry(user=request.user, publication=_publication(campaign, publication_id))

    return _after_action(request, campaign_id, action, "Publishing again.")


def variant_image_public(request, token: str):
    """A variant's image behind an expiring signed link, for Instagram to download when it publishes."""
    variant = variant_from_public_token(token=token)
    if variant is None:
        raise Http404("This link is invalid or expired.")
    return FileResponse(variant.image.open("rb"), content_type="image/png")
