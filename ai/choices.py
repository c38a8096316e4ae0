"""Which model a member may pick for a message: the models of the providers their workspace (and their own
personal keys) can reach, and the check of a picked one (DESIGN §4: `provider`, `model` on a message)."""

from marketing_ai.errors import ApplicationError

from .catalog import CHAT_MODELS, KNOWN_PROVIDERS, LABELS, default_model
from .keys import provider_keys_for_answer
from .router import providers_for


def _models_of(provider: str, *, key) -> list[str]:
    """The provider's chat models this key reaches: its own model, the default, then the catalog's (only those
    the provider listed for the key, when it did)."""
    listed = set(key.model_ids) if key is not None and key.model_ids else None
    first = [key.model] if key is not None and key.model else []
    candidates = first + [default_model(provider), *CHAT_MODELS.get(provider, ())]
    models: list[str] = []
    for model in candidates:
        reachable = listed is None or model in listed or model in first
        if model and reachable and model not in models:
            models.append(model)
    return models


def model_choices_for(*, workspace=None, user=None) -> list[dict]:
    """The models one may pick, provider by provider in the order they would be tried (the default first)."""
    keys = provider_keys_for_answer(workspace=workspace, user=user)
    choices = []
    for provider in providers_for(workspace=workspace, user=user, keys=keys):
        for index, model in enumerate(_models_of(provider.name, key=keys.get(provider.name))):
            choices.append(
                {
                    "id": f"{provider.name}:{model}",
                    "provider": provider.name,
                    "providerLabel": LABELS.get(provider.name, provider.name),
                    "model": model,
                    "isDefault": index == 0,
                    "personal": bool(keys.get(provider.name) and keys[provider.name].user_id),
                }
            )
    return choices


def model_choice_resolve(
    *, workspace=None, user=None, provider: str | None = "", model: str | None = ""
) -> dict | None:
    """The checked {provider, model} a message asks for, or None for the usual order; a 400 naming the field
    when the provider is unknown or unreachable, or the model is not one it offers."""
    for field, value in (("provider", provider), ("model", model)):
        if value is not None and not isinstance(value, str):
            raise ApplicationError("Some fields are invalid.", errors={field: ["Send the name as a string."]})
    provider, model = (provider or "").strip(), (model or "").strip()
    if not provider and not model:
        return None
    choices = model_choices_for(workspace=workspace, user=user)
    if not provider:
        owners = {choice["provider"] for choice in choices if choice["model"] == model}
        if len(owners) != 1:
            reason = f"No provider you can use offers the model {model}." if not owners else "Say which provider."
            raise ApplicationError(reason, errors={"model" if not owners else "provider": [reason]})
        provider = owners.pop()
    if provider not in KNOWN_PROVIDERS:
        reason = f"Unknown provider {provider}: choose one of {', '.join(KNOWN_PROVIDERS)}."
        raise ApplicationError(reason, errors={"provider": [reason]})
    offered = [choice["model"] for choice in choices if choice["provider"] == provider]
    if not offered:
        reason = f"{LABELS[provider]} is not available to you: no key is set up for it."
        raise ApplicationError(reason, errors={"provider": [reason]})
    model = model or offered[0]
    if model not in offered:
        reason = f"{LABELS[provider]} does not offer the model {model} here; choose one of: {', '.join(offered)}."
        raise ApplicationError(reason, errors={"model": [reason]})
    return {"provider": provider, "model": model}
