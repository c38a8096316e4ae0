"""Per-type data-source configuration: field rules (a message per field) and the split into config/secrets."""

import re

from marketing_ai.errors import ApplicationError

from .models import DataSource

GTM_CONTAINER = re.compile(r"^GTM-[A-Z0-9]{4,10}$")
GA4_MEASUREMENT = re.compile(r"^G-[A-Z0-9]{4,12}$")
PIXEL_ID = re.compile(r"^\d{15,16}$")
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
GRAPH_ID = re.compile(r"^\d{5,20}$")
API_VERSION = re.compile(r"^\d{4}-(01|04|07|10)$|^unstable$")

SECRET_KEYS = {"accessToken", "webhookSecret"}
ALLOWED_KEYS = {
    DataSource.SourceType.GTM: {"containerId", "measurementId"},
    DataSource.SourceType.FACEBOOK_PIXEL: {"pixelId", "accessToken", "adAccountId", "pageId", "instagramAccountId"},
    DataSource.SourceType.SHOPIFY: {"shopDomain", "accessToken", "apiVersion", "webhookSecret", "readAllOrders"},
    DataSource.SourceType.CSV: set(),
    DataSource.SourceType.SEGMENT: set(),  # the write key is all a Segment-compatible library needs
}


def _text(config: dict, key: str) -> str:
    value = config.get(key)
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())


def config_clean(*, source_type: str, config, partial_of: DataSource | None = None) -> tuple[dict, dict]:
    """Validate a config for its type -> (plain config, secrets); raises 400 with `config.<key>` messages."""
    if source_type not in ALLOWED_KEYS:
        raise ApplicationError(
            "Some fields are invalid.", errors={"sourceType": [f"Choose one of {', '.join(ALLOWED_KEYS)}."]}
        )
    if not isinstance(config, dict):
        raise ApplicationError("Some fields are invalid.", errors={"config": ["Must be an object."]})
    if partial_of is not None:  # PATCH: merge over the stored values (secrets only replaced when sent)
        merged = {**partial_of.config, **partial_of.secrets}
        merged.update({key: value for key, value in config.items() if value not in (None, "")})
        config = merged
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(config) - ALLOWED_KEYS[source_type])
    for key in unknown:
        errors[f"config.{key}"] = [f"Unknown setting for a {source_type} source."]
    cleaned: dict = {}
    if source_type == DataSource.SourceType.GTM:
        container = _text(config, "containerId").upper()
        if not GTM_CONTAINER.match(container):
            errors["config.containerId"] = ["Enter the container id shown in GTM, like GTM-ABC1234."]
        cleaned["containerId"] = container
        measurement = _text(config, "measurementId").upper()
        if measurement and not GA4_MEASUREMENT.match(measurement):
            errors["config.measurementId"] = ["A GA4 measurement id looks like G-XXXXXXXXXX."]
        if measurement:
            cleaned["measurementId"] = measurement
    elif source_type == DataSource.SourceType.FACEBOOK_PIXEL:
        pixel = _text(config, "pixelId")
        if not PIXEL_ID.match(pixel):
            errors["config.pixelId"] = ["A Meta pixel id is 15 or 16 digits."]
        cleaned["pixelId"] = pixel
        token = _text(config, "accessToken")
        if token:
            if len(token) < 20:
                errors["config.accessToken"] = ["This does not look like a Meta access token."]
            cleaned["accessToken"] = token
        # What the same Meta token may also do: push audiences (ad account), publish (Page, Instagram account).
        account = _text(config, "adAccountId").removeprefix("act_")
        if account and not GRAPH_ID.match(account):
            errors["config.adAccountId"] = ["An ad account id is a number, like act_1234567890."]
        for key, label in (("pageId", "A Facebook Page id"), ("instagramAccountId", "An Instagram account id")):
            value = _text(config, key)
            if value and not GRAPH_ID.match(value):
                errors[f"config.{key}"] = [f"{label} is a number of 5 to 20 digits."]
            if value:
                cleaned[key] = value
        if account:
            cleaned["adAccountId"] = account
        if (account or cleaned.get("pageId") or cleaned.get("instagramAccountId")) and not token:
            errors["config.accessToken"] = ["Audiences and publishing need the Meta access token."]
    elif source_type == DataSource.SourceType.SHOPIFY:
        shop = _text(config, "shopDomain").lower().removeprefix("https://").rstrip("/")
        if not SHOP_DOMAIN.match(shop):
            errors["config.shopDomain"] = ["Enter the store's myshopify domain, like your-store.myshopify.com."]
        cleaned["shopDomain"] = shop
        token = _text(config, "accessToken")
        if not token:
            errors["config.accessToken"] = ["The Admin API access token is required."]
        cleaned["accessToken"] = token
        version = _text(config, "apiVersion")
        if version and not API_VERSION.match(version):
            errors["config.apiVersion"] = ["An API version looks like 2025-10."]
        if version:
            cleaned["apiVersion"] = version
        secret = _text(config, "webhookSecret")
        if secret:
            cleaned["webhookSecret"] = secret
        if config.get("readAllOrders") is not None:
            cleaned["readAllOrders"] = bool(config.get("readAllOrders"))
    if errors:
        raise ApplicationError("Some fields are invalid.", errors=errors)
    plain = {key: value for key, value in cleaned.items() if key not in SECRET_KEYS}
    secret_values = {key: value for key, value in cleaned.items() if key in SECRET_KEYS}
    return plain, secret_values


def secrets_masked(secrets: dict) -> dict:
    """What the API shows of a secret: that it is set, and its last 4 characters."""
    return {
        key: ("••••" + value[-4:] if isinstance(value, str) and len(value) > 8 else "••••")
        for key, value in secrets.items()
    }
