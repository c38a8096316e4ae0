"""The AI providers settings page (`ai:settings`): provider order, masked keys with test buttons, usage.

Thin HTMX views: parse the form, call one service from `chat.provider_keys`, render the page or a fragment.
Only owners and admins may change anything (403 otherwise); everyone in the workspace may look.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from accounts.selectors import workspace_current_for_user
from marketing_ai.errors import ApplicationError, NotFound, PermissionDenied

from .provider_keys import (
    KEYED_PROVIDERS,
    provider_key_delete,
    provider_key_list_for_user,
    provider_key_save,
    provider_key_test,
    provider_order_set,
    provider_settings_for_user,
    user_can_manage_providers,
)
from .providers.router import KNOWN_PROVIDERS
from .providers.usage import usage_summary_for_workspace

TEMPLATE = "ai/settings.html"
USAGE_DAYS = 30


class ProviderOrderForm(forms.Form):
    providers = forms.CharField(
        required=False,
        max_length=200,
        label="Provider order",
        help_text=f"Comma-separated, tried in order ({', '.join(KNOWN_PROVIDERS)}). Empty uses the server default.",
        widget=forms.TextInput(attrs={"placeholder": "openai, local"}),
    )

    def clean_providers(self) -> list[str]:
        names = [name.strip().lower() for name in self.cleaned_data["providers"].split(",") if name.strip()]
        unknown = [name for name in names if name not in KNOWN_PROVIDERS]
        if unknown:
            raise forms.ValidationError(f"Unknown provider: {', '.join(unknown)}.")
        if len(set(names)) != len(names):
            raise forms.ValidationError("Name each provider once.")
        return names


class ProviderKeyForm(forms.Form):
    provider = forms.ChoiceField(choices=[(name, name) for name in KEYED_PROVIDERS])
    secret = forms.CharField(
        label="API key", max_length=500, widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False)
    )
    base_url = forms.URLField(
        label="Base URL", required=False, max_length=200, help_text="Optional: any OpenAI-compatible endpoint."
    )
    model = forms.CharField(required=False, max_length=100, help_text="Optional: defaults to the server's model.")


def _page_context(request: HttpRequest, **forms_given) -> dict:
    user = request.user
    workspace = workspace_current_for_user(user=user)
    provider_settings = provider_settings_for_user(user=user)
    initial = ", ".join(provider_settings["providers"]) if provider_settings["isWorkspaceOverride"] else ""
    keys = list(provider_key_list_for_user(user=user))
    return {
        "unused_keys": [key.provider for key in keys if key.provider not in provider_settings["providers"]],
        "can_manage": user_can_manage_providers(user=user),
        "provider_settings": provider_settings,
        "order_form": forms_given.get("order_form") or ProviderOrderForm(initial={"providers": initial}),
        "key_form": forms_given.get("key_form") or ProviderKeyForm(),
        "keys": keys,
        "usage": usage_summary_for_workspace(workspace=workspace, days=USAGE_DAYS),
        "usage_days": USAGE_DAYS,
    }


def _fragment(request: HttpRequest, name: str, context: dict, *, status: int = 200, toast: str = "") -> HttpResponse:
    if not request.htmx:
        if toast:
            messages.success(request, toast)
        return redirect("ai:settings")
    response = render(request, f"{TEMPLATE}#{name}", context, status=status)
    if toast:
        trigger_client_event(response, "toast", {"message": toast, "level": "success"})
    return response


def _invalid(request: HttpRequest, name: str, **forms_given) -> HttpResponse:
    """The page (the `name` fragment for HTMX) showing a bound form's errors, with status 422."""
    template = f"{TEMPLATE}#{name}" if request.htmx else TEMPLATE
    return render(request, template, _page_context(request, **forms_given), status=422)


@login_required
def ai_settings(request: HttpRequest) -> HttpResponse:
    return render(request, TEMPLATE, _page_context(request))


@login_required
@require_POST
def ai_provider_order(request: HttpRequest) -> HttpResponse:
    form = ProviderOrderForm(request.POST)
    if form.is_valid():
        try:
            provider_order_set(user=request.user, providers=form.cleaned_data["providers"])
        except PermissionDenied as exc:
            return HttpResponseForbidden(exc.message)
        return _fragment(request, "order", _page_context(request), toast="Provider order saved.")
    return _invalid(request, "order", order_form=form)


@login_required
@require_POST
def ai_provider_key_save(request: HttpRequest) -> HttpResponse:
    form = ProviderKeyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            provider_key_save(
                user=request.user,
                provider=data["provider"],
                secret=data["secret"],
                base_url=data["base_url"],
                model=data["model"],
            )
        except PermissionDenied as exc:
            return HttpResponseForbidden(exc.message)
        except ApplicationError as exc:
            fields = {"provider": "provider", "secret": "secret", "baseUrl": "base_url"}
            for field, errors in (exc.errors or {"secret": [exc.message]}).items():
                form.add_error(fields.get(field), exc.message if field == "secret" else errors)
        else:
            return _fragment(request, "keys", _page_context(request), toast="Key checked and saved.")
    return _invalid(request, "keys", key_form=form)


@login_required
@require_POST
def ai_provider_key_delete(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        provider_key_delete(user=request.user, provider=provider)
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    except NotFound:
        return HttpResponse("No key is stored for this provider.", status=404)
    return _fragment(request, "keys", _page_context(request), toast="Key deleted.")


@login_required
@require_POST
def ai_provider_key_test(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        result = provider_key_test(user=request.user, provider=provider)
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    except NotFound:
        return HttpResponse("No key is stored for this provider.", status=404)
    if not request.htmx:
        return redirect("ai:settings")
    return render(request, f"{TEMPLATE}#test-result", {"result": result})
