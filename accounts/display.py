"""How values read to a marketer: one label map (segments, statuses, event types, roles...) and money and
numbers in the workspace's currency and locale. Templates reach it through `accounts/templatetags/ui.py`."""

from decimal import Decimal, InvalidOperation

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal, format_percent

DEFAULT_CURRENCY = "USD"
DEFAULT_LOCALE = "en_US"

# Every code a page may show, once. A code that is missing here reads as a sentence ("repeat_customers" ->
# "Repeat customers"), never as snake_case.
LABELS: dict[str, str] = {
    # Segments (integrations/analysis/queries.py SEGMENTS)
    "cart_abandoners": "Cart abandoners",
    "potential_customers": "Potential customers",
    "high_value_customers": "High-value customers",
    "new_visitors": "New visitors",
    "engaged_users": "Engaged shoppers",
    "repeat_customers": "Repeat customers",
    # Canonical event types (DESIGN §5)
    "page_view": "Page view",
    "view_item": "Product view",
    "search": "Search",
    "add_to_cart": "Add to cart",
    "remove_from_cart": "Remove from cart",
    "begin_checkout": "Checkout started",
    "add_payment_info": "Payment info added",
    "purchase": "Purchase",
    "refund": "Refund",
    "sign_up": "Sign-up",
    "lead": "Lead",
    "custom": "Custom event",
    # Source types
    "gtm": "Google Tag Manager",
    "facebook_pixel": "Meta Pixel",
    "shopify": "Shopify",
    "csv": "CSV upload",
    # Statuses (campaigns, jobs, sources, approval steps, variants)
    "draft": "Draft",
    "in_review": "In review",
    "approved": "Approved",
    "scheduled": "Scheduled",
    "active": "Active",
    "completed": "Completed",
    "rejected": "Rejected",
    "queued": "Queued",
    "running": "Running",
    "succeeded": "Done",
    "failed": "Failed",
    "paused": "Paused",
    "error": "Error",
    "waiting": "Waiting",
    "pending": "Waiting for a decision",
    "skipped": "Skipped",
    "cancelled": "Cancelled",
    "passed": "Passed",
    "manual_review": "Needs review",
    "not_scored": "Not scored",
    # Job kinds
    "sync": "Sync",
    "dummy_data": "Demo data",
    "csv_import": "CSV import",
    "webhook": "Webhook",
    # Roles
    "owner": "Owner",
    "admin": "Admin",
    "editor": "Editor",
    "approver": "Approver",
    "viewer": "Viewer",
}


def label(code) -> str:
    """The human label of a code; unknown codes read as a capitalised phrase."""
    if code is None or code == "":
        return ""
    text = str(code)
    return LABELS.get(text) or text.replace("_", " ").strip().capitalize()


def locale_of(name: str | None) -> Locale:
    try:
        return Locale.parse((name or DEFAULT_LOCALE).replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money_format(value, *, currency: str | None = None, locale: str | None = None, whole: bool = False) -> str:
    """`9785.5` -> "$9,785.50" (en_US, USD) or "9.785,50 €" (de_DE, EUR); `whole` drops the cents."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    code = (currency or DEFAULT_CURRENCY).upper()
    try:
        if whole:
            return format_currency(amount, code, format="¤#,##0", locale=locale_of(locale), currency_digits=False)
        return format_currency(amount, code, locale=locale_of(locale))
    except (ValueError, KeyError):
        return f"{format_decimal(amount, format='#,##0.00', locale=locale_of(locale))} {code}"


def number_format(value, *, locale: str | None = None, digits: int = 0) -> str:
    """Grouped digits for the locale: 12345 -> "12,345" (en_US) or "12.345" (de_DE)."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(amount, format=pattern, locale=locale_of(locale))


def percent_format(value, *, locale: str | None = None, digits: int = 1) -> str:
    """A percentage given in percent units (39.39 -> "39.4%")."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    pattern = "#,##0" + ("." + "#" * digits if digits else "") + "%"
    return format_percent(amount / 100, format=pattern, locale=locale_of(locale))


CURRENCIES = ["USD", "EUR", "GBP", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "PLN", "JPY", "BRL", "MXN", "INR"]
LOCALES = {
    "en_US": "English (United States)",
    "en_GB": "English (United Kingdom)",
    "de_DE": "Deutsch (Deutschland)",
    "fr_FR": "Français (France)",
    "es_ES": "Español (España)",
    "it_IT": "Italiano (Italia)",
    "nl_NL": "Nederlands (Nederland)",
    "pt_BR": "Português (Brasil)",
    "sv_SE": "Svenska (Sverige)",
    "ja_JP": "日本語 (日本)",
}


def cost_format(value: float) -> str:
    """Provider costs, in US dollars as providers bill them; below a dollar to the hundredth of a cent."""
    return f"${value:,.4f}" if value < 1 else money_format(value, currency="USD")
