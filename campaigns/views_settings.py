"""HTML pages for the workspace's brand profile and its assets."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.policy import policy_page
from accounts.selectors import workspace_current_for_user
from marketing_ai.errors import ApplicationError

from . import selectors
from .brand import brand_asset_upload, brand_profile_update
from .forms import BrandAssetForm, BrandProfileForm


def _brand_context(workspace, form, asset_form, **extra) -> dict:
    return {
        "form": form,
        "asset_form": asset_form,
        "profile": selectors.brand_profile_get_for_workspace(workspace=workspace),
        "assets": selectors.brand_asset_list_for_workspace(workspace=workspace)[:24],
        **extra,
    }


def _form_errors(form, exc: Exception) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, getattr(exc, "message", None) or " ".join(getattr(exc, "messages", [str(exc)])))


@login_required
@require_http_methods(["GET", "POST"])
@policy_page("brand.edit", methods=("POST",))
def brand_profile(request):
    """The brand rules editor (palette, logo, typography, layout, tone, banned words) and the assets."""
    workspace = workspace_current_for_user(user=request.user)
    profile = selectors.brand_profile_get_for_workspace(workspace=workspace)
    form = BrandProfileForm(request.POST or None, initial=BrandProfileForm.initial_from(profile))
    if request.method == "POST":
        if form.is_valid():
            try:
                brand_profile_update(workspace=workspace, user=request.user, data=form.to_profile_data())
            except (ValidationError, ApplicationError) as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Brand profile saved.")
                return redirect("campaigns:brand-profile")
        return render(
            request, "campaigns/brand_profile.html", _brand_context(workspace, form, BrandAssetForm()), status=422
        )
    return render(request, "campaigns/brand_profile.html", _brand_context(workspace, form, BrandAssetForm()))


@login_required
@require_POST
@policy_page("brand.edit")
def brand_asset_new(request):
    workspace = workspace_current_for_user(user=request.user)
    profile = selectors.brand_profile_get_for_workspace(workspace=workspace)
    asset_form = BrandAssetForm(request.POST, request.FILES)
    if asset_form.is_valid():
        try:
            brand_asset_upload(
                workspace=workspace,
                user=request.user,
                upload=asset_form.cleaned_data["file"],
                kind=asset_form.cleaned_data["kind"],
                name=asset_form.cleaned_data["name"],
            )
        except (ValidationError, ApplicationError) as exc:
            _form_errors(asset_form, exc)
        else:
            messages.success(request, "Asset uploaded.")
            return redirect("campaigns:brand-profile")
    form = BrandProfileForm(initial=BrandProfileForm.initial_from(profile))
    return render(request, "campaigns/brand_profile.html", _brand_context(workspace, form, asset_form), status=422)
