"""Per-workspace AI provider keys and provider order: services (writes) and selectors (reads).

Keys are stored encrypted (ProviderKey.secret, FIELD_ENCRYPTION_KEYS), validated with a real
`GET {base_url}/models` call before they are saved, shown only as `****last4`, never returned.
"""

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.selectors import membership_current_for_user
from marketing_ai.db import rows_fetched
from marketing_ai.errors import ApplicationError, NotFound, PermissionDenied

from .catalog import KEYED_PROVIDERS, KNOWN_PROVIDERS, default_model, provider_order_for
from .models import ProviderKey
from .providers.base import ProviderError
from .providers.registry import provider_build

MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


def _membership(*, user: User) -> Membership:
    membership = membership_current_for_user(user=user)
    if membership is None:
        raise NotFound("You do not belong to any workspace.")
    return membership


def _manager_workspace(*, user: User) -> Workspace:
    membership = _membership(user=user)
    if membership.role not in MANAGER_ROLES:
        raise PermissionDenied("Only owners and admins may change AI provider settings.")
    return membership.workspace


# Selectors


_ACTIVE_KEY_SQL = (
    f"SELECT id FROM {ProviderKey._meta.db_table} WHERE workspace_id = %s AND provider = %s AND is_active "
    "ORDER BY id LIMIT 1"
)


def provider_key_active_for(*, workspace: Workspace | None, provider: str) -> ProviderKey | None:
    """The workspace's active key for a provider, or None."""
    if workspace is None:
        return None
    # Asked for every answer, and usually answered "none" (the settings' key serves): plain SQL first.
    found = rows_fetched(_ACTIVE_KEY_SQL, [workspace.id, provider])
    return ProviderKey.objects.filter(id=found[0][0]).first() if found else None


def provider_key_list_for_user(*, user: User) -> QuerySet[ProviderKey]:
    """The keys of the user's current workspace (any member may see them masked)."""
    return ProviderKey.objects.filter(workspace=_membership(user=user).workspace).order_by("provider")


def provider_key_get_for_user(*, user: User, provider: str) -> ProviderKey:
    """One key of the user's current workspace; NotFound otherwise (another workspace's key included)."""
    key = ProviderKey.objects.filter(workspace=_membership(user=user).workspace, provider=provider).first()
    if key is None:
        raise NotFound("No key is stored for this provider.")
    return key


def provider_settings_for_user(*, user: User) -> dict:
    """The effective provider order, whether it is the workspace's own, and what the settings default is."""
    workspace = _membership(user=user).workspace
    return {
        "providers": provider_order_for(workspace=workspace),
        "isWorkspaceOverride": bool(workspace.ai_providers),
        "default": list(settings.AI_PROVIDERS),
        "available": list(KNOWN_PROVIDERS),
    }


def user_can_manage_providers(*, user: User) -> bool:
    membership = membership_current_for_user(user=user)
    return bool(membership and membership.role in MANAGER_ROLES)


# Services


def key_check(*, provider: str, secret: str, base_url: str = "") -> list[str]:
    """Validate a key with a real call to the provider (its model list); ApplicationError (400) with the reason."""
    try:
        return async_to_sync(provider_build(provider, api_key=secret, base_url=base_url).models_available)()
    except ProviderError as exc:
        reason = f"The key was not accepted: {exc}"
        raise ApplicationError(reason, errors={"secret": [reason]}) from None


def _key_change_audit(*, user: User, workspace: Workspace, provider: str, action: str) -> None:
    AuditEvent.objects.create(
        kind=AuditEvent.Kind.PROVIDER_KEY_CHANGED,
        user=user,
        email=user.email,
        detail={"provider": provider, "action": action, "workspace": workspace.pk},
    )


def provider_order_set(*, user: User, providers: list[str]) -> Workspace:
    """Set the workspace's provider order (owner/admin); an empty list returns to the settings default."""
    workspace = _manager_workspace(user=user)
    unknown = [name for name in providers if name not in KNOWN_PROVIDERS]
    if unknown:
        raise ApplicationError("Unknown provider.", errors={"providers": [f"Unknown provider: {n}" for n in unknown]})
    if len(set(providers)) != len(providers):
        raise ApplicationError("Each provider may appear once.", errors={"providers": ["Duplicate provider."]})
    workspace.ai_providers = ",".join(providers)
    workspace.save(update_fields=["ai_providers", "updated_at"])
    return workspace


def provider_key_save(*, user: User, provider: str, secret: str, base_url: str = "", model: str = "") -> ProviderKey:
    """Validate the key against the provider, then store (or replace) it encrypted (owner/admin); audited."""
    workspace = _manager_workspace(user=user)
    errors = {}
    if provider not in KEYED_PROVIDERS:
        errors["provider"] = [f"Choose one of: {', '.join(KEYED_PROVIDERS)}."]
    secret = (secret or "").strip()
    if len(secret) < 8:
        errors["secret"] = ["Enter the full API key."]
    elif not all("!" <= char <= "~" for char in secret):
        errors["secret"] = ["API keys contain only printable ASCII characters, without spaces."]
    if base_url:
        try:
            URLValidator(schemes=["http", "https"])(base_url)
        except ValidationError:
            errors["baseUrl"] = ["Enter a valid http(s) URL."]
    if errors:
        raise ApplicationError("Some fields are invalid.", errors=errors)
    key_check(provider=provider, secret=secret, base_url=base_url)
    with transaction.atomic():
        key = ProviderKey.objects.filter(workspace=workspace, provider=provider).first() or ProviderKey(
            workspace=workspace, provider=provider, created_by=user
        )
        key.secret, key.last_four = secret, secret[-4:]
        key.base_url, key.model = base_url, (model or "")[:100]
        key.is_active, key.validated_at = True, timezone.now()
        key.full_clean()
        key.save()
        _key_change_audit(user=user, workspace=workspace, provider=provider, action="saved")
    return key


def provider_key_delete(*, user: User, provider: str) -> None:
    """Delete the workspace's key for a provider (owner/admin); NotFound when none is stored; audited."""
    workspace = _manager_workspace(user=user)
    key = provider_key_get_for_user(user=user, provider=provider)
    with transaction.atomic():
        key.delete()
        _key_change_audit(user=user, workspace=workspace, provider=provider, action="deleted")


def provider_key_test(*, user: User, provider: str) -> dict:
    """Call the provider with the stored key (owner/admin); records validated_at on success, never raises on refusal."""
    _manager_workspace(user=user)
    key = provider_key_get_for_user(user=user, provider=provider)
    try:
        checked = provider_build(provider, api_key=key.secret, base_url=key.base_url)
        models = async_to_sync(checked.models_available)()
    except ProviderError as exc:
        return {"ok": False, "provider": provider, "message": str(exc)}
    key.validated_at = timezone.now()
    key.save(update_fields=["validated_at", "updated_at"])
    model = key.model or default_model(provider)
    note = "" if not models or model in models else f" (model {model} is not in the key's list)"
    return {"ok": True, "provider": provider, "message": f"Key accepted; {len(models)} models available{note}."}
