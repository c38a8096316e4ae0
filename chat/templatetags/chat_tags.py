from django import template
from django.utils.safestring import mark_safe

from ai.catalog import LABELS
from chat.rendering import markdown_to_html

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """Render assistant Markdown as sanitized HTML."""
    return mark_safe(markdown_to_html(text))  # noqa: S308 - nh3 sanitized it


@register.filter
def provider_label(name: str) -> str:
    """A provider's display name ("gemini" -> "Google Gemini"; the offline fallback reads as the offline analyst)."""
    return LABELS.get("local" if name == "fallback" else name, name)
