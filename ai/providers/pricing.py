"""Price table for model calls: US dollars per one million tokens (input, output).

Figures follow the providers' public price lists; unknown models cost 0 so usage is still counted.
"""

from decimal import Decimal

PER_MILLION: dict[str, tuple[Decimal, Decimal]] = {
    "local-analyst-1": (Decimal("0"), Decimal("0")),
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-5": (Decimal("1.25"), Decimal("10.00")),
    "gpt-5-mini": (Decimal("0.25"), Decimal("2.00")),
    "gpt-5-nano": (Decimal("0.05"), Decimal("0.40")),
    "gemini-2.5-flash": (Decimal("0.30"), Decimal("2.50")),
    "gemini-2.5-flash-lite": (Decimal("0.10"), Decimal("0.40")),
    "gemini-2.5-pro": (Decimal("1.25"), Decimal("10.00")),
    "claude-haiku-4-5": (Decimal("1.00"), Decimal("5.00")),
    "claude-sonnet-4-5": (Decimal("3.00"), Decimal("15.00")),
    "claude-opus-4-1": (Decimal("15.00"), Decimal("75.00")),
    "llama-3.1-8b-instant": (Decimal("0.05"), Decimal("0.08")),
    "llama-3.3-70b-versatile": (Decimal("0.59"), Decimal("0.79")),
}

MILLION = Decimal(1_000_000)


def price_for(model: str) -> tuple[Decimal, Decimal]:
    """(input, output) price per million tokens; dated variants (gpt-4o-mini-2024-07-18) use their base model."""
    if model in PER_MILLION:
        return PER_MILLION[model]
    for name in sorted(PER_MILLION, key=len, reverse=True):
        if model.startswith(name + "-"):
            return PER_MILLION[name]
    return Decimal("0"), Decimal("0")


def cost_for(*, model: str, tokens_in: int, tokens_out: int) -> Decimal:
    """The cost of one call in dollars, rounded to the micro-dollar the usage log stores."""
    price_in, price_out = price_for(model)
    return ((price_in * tokens_in + price_out * tokens_out) / MILLION).quantize(Decimal("0.000001"))
