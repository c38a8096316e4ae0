"""Template helpers that only format: labels, money and numbers in the current workspace's currency and locale,
and the flash messages (read from the request, so a view's own `messages` variable never turns into toasts)."""

from django import template
from django.contrib.messages import get_messages

from accounts.display import DEFAULT_CURRENCY, DEFAULT_LOCALE, label, money_format, number_format, percent_format

register = template.Library()


def _workspace(context):
    membership = context.get("current_membership")
    if membership is not None:
        return membership.workspace
    request = context.get("request")
    membership = getattr(getattr(request, "membership", None), "get", lambda: None)()
    return membership.workspace if membership is not None else None


def _locale(context) -> str:
    workspace = _workspace(context)
    return getattr(workspace, "locale", "") or DEFAULT_LOCALE


@register.filter(name="label")
def label_filter(code) -> str:
    """`{{ segment|label }}`: the human name of a code (segment, status, event type, role, source type)."""
    return label(code)


@register.simple_tag(takes_context=True)
def money(context, value, currency: str = "", whole: bool = False) -> str:
    """`{% money overview.revenue %}` in the workspace's currency and locale (or the `currency` given)."""
    workspace = _workspace(context)
    code = currency or getattr(workspace, "currency", "") or DEFAULT_CURRENCY
    return money_format(value, currency=code, locale=_locale(context), whole=whole)


@register.simple_tag(takes_context=True)
def number(context, value, digits: int = 0) -> str:
    return number_format(value, locale=_locale(context), digits=digits)


@register.simple_tag(takes_context=True)
def percent(context, value, digits: int = 1) -> str:
    return percent_format(value, locale=_locale(context), digits=digits)


@register.simple_tag(takes_context=True)
def flash_messages(context) -> list:
    request = context.get("request")
    return list(get_messages(request)) if request is not None else []
