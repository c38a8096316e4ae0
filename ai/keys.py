"""AI provider keys and the provider order: services (writes) and selectors (reads).

Two kinds of key: a workspace key (owners and admins manage it; it serves everyone in the workspace) and a
personal key (any member adds their own; it serves only their chats, before the workspace's). Keys are stored
encrypted (ProviderKey.secret, FIELD_ENCRYPTION_KEYS), checked with a real call to the provider (its model
list) before they are saved, shown only as `****last4`, never returned. Saving a key again rotates it (the old
one stays until the new one passed its check). A key the provider starts refusing (401/403) is switched off and
its owner told (`provider_key_mark_invalid`, called by the router).
"""

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Membership, Notification, User, Workspace
from accounts.notifications import notification_create
from accounts.policy import policy_require, role_allows, roles_allowed
from accounts.selectors import membership_current_for_user
from marketing_ai.db import rows_fetched
from marketing_ai.errors import ApplicationError, NotFound

from .catalog import KEYED_PROVIDERS, KNOWN_PROVIDERS, LABELS, default_model, provider_order_for
from .models import ProviderKey
from .providers.base import ProviderError
from .providers.registry import provider_build

SCOPES = tuple(ProviderKey.Scope.values)
INVALID_KEY_NOTIFICATION = "provider_key_invalid"


def _membership(*, user: User) -> Membership:
    membership = membership_current_for_user(user=user)
    if membership is None:
        raise NotFound("You do not belong to any workspace.")
    return membership


def _manager_workspace(*, user: User) -> Workspace:
    membership = _membership(user=user)
    policy_require(user=user, workspace=membership.workspace, action="provider_keys.manage")
    return membership.workspace


def _scope_checked(scope: str) -> str:
    if scope not in SCOPES:
        raise ApplicationError("Some fields are invalid.", errors={"scope": [f"Choose one of: {', '.join(SCOPES)}."]})
    return scope


def _workspace_for_scope(*, user: User, scope: str) -> Workspace:
    """The workspace whose key `user` may change in this scope: workspace keys need an owner or admin."""
    if _scope_checked(scope) == ProviderKey.Scope.WORKSPACE:
        return _manager_workspace(user=user)
    return _membership(user=user).workspace


def _key_owner_filter(*, user: User, scope: str) -> Q:
    return Q(user=user) if scope == ProviderKey.Scope.PERSONAL else Q(user__isnull=True)


# Selectors


# Asked before every chat answer, on the shared database thread, where most workspaces have no key of their own:
# plain SQL finds whether there is any (the ORM's query building would cost several times the query; figures:
# bench/README.md, "bench/hot_paths.py"), and only keys found are loaded as objects.
_KEYS_FOR_ANSWER_SQL = (
    f"SELECT id FROM {ProviderKey._meta.db_table} WHERE workspace_id = %s AND is_active = %s "
    "AND (user_id IS NULL OR user_id = %s) ORDER BY id"
)


def provider_keys_for_answer(*, workspace: Workspace | None, user: User | None = None) -> dict[str, ProviderKey]:
    """The active key per provider for an answer to `user` in `workspace`: their personal key, else the
    workspace's."""
    if workspace is None:
        return {}
    user_id = user.pk if user is not None and user.is_authenticated else None
    ids = [key_id for (key_id,) in rows_fetched(_KEYS_FOR_ANSWER_SQL, [workspace.pk, True, user_id])]
    found: dict[str, ProviderKey] = {}
    for key in ProviderKey.objects.filter(id__in=ids, is_active=True).order_by("id") if ids else ():
        if key.provider not in found or key.user_id:
            found[key.provider] = key
    return found


def provider_key_active_for(
    *, workspace: Workspace | None, provider: str, user: User | None = None
) -> ProviderKey | None:
    """The active key for a provider (the member's personal one first), or None."""
    return provider_keys_for_answer(workspace=workspace, user=user).get(provider)


def provider_key_list_for_user(*, user: User) -> QuerySet[ProviderKey]:
    """The current workspace's keys (any member may see them masked) and the user's own personal keys."""
    workspace = _membership(user=user).workspace
    return ProviderKey.objects.filter(Q(user__isnull=True) | Q(user=user), workspace=workspace).order_by(
        "user_id", "provider"
    )


def provider_key_get_for_user(*, user: User, provider: str, scope: str = ProviderKey.Scope.WORKSPACE) -> ProviderKey:
    """One key of the user's current workspace (or their personal one); NotFound otherwise, another's included."""
    workspace = _membership(user=user).workspace
    owner = _key_owner_filter(user=user, scope=_scope_checked(scope))
    key = ProviderKey.objects.filter(owner, workspace=workspace, provider=provider).first()
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
    return bool(membership and role_allows(membership.role, "provider_keys.manage"))


# Services


def key_check(*, provider: str, secret: str, base_url: str = "") -> list[str]:
    """Validate a key with a real call to the provider (its model list); ApplicationError (400) with the reason."""
    try:
        return async_to_sync(provider_build(provider, api_key=secret, base_url=base_url).models_available)()
    except ProviderError as exc:
        reason = f"The key was not accepted: {exc}"
        raise ApplicationError(reason, errors={"secret": [reason]}) from None


def _key_change_audit(*, user: User, workspace: Workspace, provider: str, action: str, scope: str) -> None:
    AuditEvent.objects.create(
        kind=AuditEvent.Kind.PROVIDER_KEY_CHANGED,
        user=user,
        email=user.email,
        detail={"provider": provider, "action": action, "workspace": workspace.pk, "scope": scope},
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


def _key_input_errors(*, provider: str, secret: str, base_url: str) -> dict:
    errors = {}
    if provider not in KEYED_PROVIDERS:
        errors["provider"] = [f"Choose one of: {', '.join(KEYED_PROVIDERS)}."]
    if len(secret) < 8:
        errors["secret"] = ["Enter the full API key."]
    elif not all("!" <= char <= "~" for char in secret):
        errors["secret"] = ["API keys contain only printable ASCII characters, without spaces."]
    if base_url:
        try:
            URLValidator(schemes=["http", "https"])(base_url)
        except ValidationError:
            errors["baseUrl"] = ["Enter a valid http(s) URL."]
    return errors


def provider_key_save(
    *,
    user: User,
    provider: str,
    secret: str,
    base_url: str = "",
    model: str = "",
    scope: str = ProviderKey.Scope.WORKSPACE,
) -> ProviderKey:
    """Check the key with the provider, then store it encrypted, replacing (rotating) the one it succeeds; audited.

    Workspace keys: owners and admins. Personal keys: any member, for themselves. A model the key cannot reach
    (when the provider lists its models) is refused with the list's size, before anything is stored.
    """
    workspace = _workspace_for_scope(user=user, scope=scope)
    secret, model = (secret or "").strip(), (model or "").strip()[:100]
    errors = _key_input_errors(provider=provider, secret=secret, base_url=base_url)
    if errors:
        raise ApplicationError("Some fields are invalid.", errors=errors)
    reachable = key_check(provider=provider, secret=secret, base_url=base_url)
    if model and reachable and model not in reachable:
        reason = f"This key cannot use the model {model} (the provider lists {len(reachable)} models for it)."
        raise ApplicationError(reason, errors={"model": [reason]})
    personal = scope == ProviderKey.Scope.PERSONAL
    with transaction.atomic():
        owner = _key_owner_filter(user=user, scope=scope)
        key = ProviderKey.objects.filter(owner, workspace=workspace, provider=provider).first() or ProviderKey(
            workspace=workspace, provider=provider, created_by=user, user=user if personal else None
        )
        action = "rotated" if key.pk else "saved"
        key.secret, key.last_four = secret, secret[-4:]
        key.base_url, key.model, key.model_ids = base_url, model, sorted(reachable)[:500]
        key.is_active, key.validated_at, key.invalid_at, key.invalid_reason = True, timezone.now(), None, ""
        key.full_clean()
        key.save()
        _key_change_audit(user=user, workspace=workspace, provider=provider, action=action, scope=scope)
    return key


def provider_key_delete(*, user: User, provider: str, scope: str = ProviderKey.Scope.WORKSPACE) -> None:
    """Delete a workspace key (owner/admin) or one's own personal key; NotFound when none is stored; audited."""
    workspace = _workspace_for_scope(user=user, scope=scope)
    key = provider_key_get_for_user(user=user, provider=provider, scope=scope)
    with transaction.atomic():
        key.delete()
        _key_change_audit(user=user, workspace=workspace, provider=provider, action="deleted", scope=scope)


def provider_key_test(*, user: User, provider: str, scope: str = ProviderKey.Scope.WORKSPACE) -> dict:
    """Call the provider with the stored key; records the check, and switches off a key it refuses."""
    _workspace_for_scope(user=user, scope=scope)
    key = provider_key_get_for_user(user=user, provider=provider, scope=scope)
    checked = provider_build(provider, api_key=key.secret, base_url=key.base_url)
    try:
        models = async_to_sync(checked.models_available)()
    except ProviderError as exc:
        if exc.key_refused:
            provider_key_mark_invalid(key_id=key.id, reason=str(exc), notify=False)
        return {"ok": False, "provider": provider, "message": str(exc)}
    key.validated_at, key.model_ids = timezone.now(), sorted(models)[:500]
    key.is_active, key.invalid_at, key.invalid_reason = True, None, ""
    key.save(update_fields=["validated_at", "model_ids", "is_active", "invalid_at", "invalid_reason", "updated_at"])
    model = key.model or default_model(provider)
    note = "" if not models or model in models else f" (model {model} is not in the key's list)"
    return {"ok": True, "provider": provider, "message": f"Key accepted; {len(models)} models available{note}."}


def _key_owners(key: ProviderKey) -> list[User]:
    """Who must hear that a key stopped working: its member for a personal key, else the workspace's managers."""
    if key.user_id:
        return [key.user]
    managers = Membership.objects.filter(
        workspace_id=key.workspace_id, role__in=roles_allowed("provider_keys.manage")
    ).select_related("user")
    return [membership.user for membership in managers]


def provider_key_mark_invalid(*, key_id: int, reason: str, notify: bool = True) -> bool:
    """Switch off a key the provider refused and tell its owners, once: True when this call switched it off."""
    now = timezone.now()
    with transaction.atomic():
        switched = ProviderKey.objects.filter(id=key_id, is_active=True).update(
            is_active=False, invalid_at=now, invalid_reason=reason[:200], updated_at=now
        )
        if not switched or not notify:
            return bool(switched)
        key = ProviderKey.objects.select_related("user", "workspace").get(id=key_id)
        label = LABELS.get(key.provider, key.provider)
        whose = "Your personal" if key.user_id else f"The {key.workspace.name} workspace's"
        notification_create(
            users=_key_owners(key),
            workspace=key.workspace,
            kind=INVALID_KEY_NOTIFICATION,
            level=Notification.Level.WARNING,
            subject=f"{label} key stopped working",
            message=(
                f"{whose} {label} key {key.masked} was refused by {label} ({reason}). It is switched off and answers "
                "use the next provider: save a new key on the AI settings page."
            ),
            url=reverse("ai:settings"),
        )
    return True
