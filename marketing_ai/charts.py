"""The one chart module: geometry for the server-drawn SVG charts (templates/_chart.html, _funnel_chart.html).

Views build a chart here from numbers they already have; templates only draw it; static/js/charts.js shows
the hover values. Colours come from the Okabe-Ito palette (distinguishable with colour-blindness), in
the order of the series.
"""

import math
from collections.abc import Callable
from datetime import date

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28
MAX_X_LABELS = 8
PALETTE = ["#5b4bff", "#e69f00", "#009e73", "#cc79a7", "#0072b2", "#d55e00"]
FUNNEL_WIDTH, FUNNEL_BAR, FUNNEL_GAP, FUNNEL_LABEL = 640, 34, 14, 170

Formatter = Callable[[float], str]


def _plain(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and `count` round steps (1, 2, 2.5 or 5 x 10^n) reaching at least `top`."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [round(step * i, 10) for i in range(count + 1) if step * (i - 1) < top]


def _day_label(label: str) -> str:
    try:
        return date.fromisoformat(label).strftime("%b %-d")
    except ValueError:
        return label


def time_chart(
    *,
    labels: list[str],
    lines: dict[str, list[float]] | None = None,
    bars: dict[str, list[float]] | None = None,
    formats: dict[str, Formatter] | None = None,
    axis_format: Formatter | None = None,
    title: str = "",
) -> dict:
    """Lines and/or bars over shared x labels (days as ISO dates), on one y axis from 0 with round gridlines.

    Every x position carries a hover band whose tip lists each series' value there; a series with a single
    point is drawn as a dot, so one day of data is never a blank chart."""
    lines, bars, formats = lines or {}, bars or {}, formats or {}
    count = max(len(labels), 1)
    values = [float(v) for series in (*lines.values(), *bars.values()) for v in series]
    ticks = nice_ticks(max(values, default=0))
    top = ticks[-1] or 1
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = inner_w / count
    baseline = TOP + inner_h

    def x_of(index: int) -> float:
        return round(LEFT + slot * (index + 0.5), 1)

    def y_of(value: float) -> float:
        return round(baseline - inner_h * float(value) / top, 1)

    colours = iter(PALETTE)
    drawn_bars = []
    bar_series = list(bars.items())
    bar_width = max(min(slot * 0.7 / max(len(bar_series), 1), 28), 1.5)
    for n, (_name, series) in enumerate(bar_series):
        colour = next(colours)
        for i, value in enumerate(series):
            x = x_of(i) - bar_width * len(bar_series) / 2 + n * bar_width
            height = round(baseline - y_of(value), 1)
            drawn_bars.append({"x": round(x, 1), "y": y_of(value), "width": round(bar_width, 1), "height": height})
            drawn_bars[-1]["colour"] = colour
    drawn_lines = []
    for name, series in lines.items():
        colour = next(colours)
        points = [(x_of(i), y_of(v)) for i, v in enumerate(series)]
        drawn_lines.append(
            {
                "name": name,
                "colour": colour,
                "points": " ".join(f"{x},{y}" for x, y in points),
                "dots": [{"x": x, "y": y} for x, y in points] if len(points) <= 31 else [],
            }
        )
    legend = [
        {"name": name, "colour": colour}
        for (name, _), colour in zip([*bar_series, *lines.items()], PALETTE, strict=False)
    ]
    every = max(math.ceil(count / MAX_X_LABELS), 1)
    axis = axis_format or _plain
    bands = []
    for i, label in enumerate(labels):
        parts = [
            f"{name}: {formats.get(name, _plain)(float(series[i]))}"
            for name, series in (*bar_series, *lines.items())
            if i < len(series)
        ]
        bands.append(
            {
                "x": round(LEFT + slot * i, 1),
                "width": round(slot, 1),
                "tip": f"{_day_label(label)} · " + " · ".join(parts),
                "label": _day_label(label) if i % every == 0 else "",
                "label_x": x_of(i),
            }
        )
    return {
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "baseline": baseline,
        "plot_height": inner_h,
        "label_y": HEIGHT - 8,
        "grid": [{"y": y_of(t), "label": axis(t)} for t in ticks],
        "bars": drawn_bars,
        "lines": drawn_lines,
        "legend": legend,
        "bands": bands,
        "empty": not any(values),
    }


def funnel_chart(funnel: dict, *, value_format: Formatter | None = None) -> dict:
    """Horizontal bars, one per step, scaled to the largest step, with each step's customers, rate and value."""
    steps = funnel["steps"]
    top = max((step["customers"] for step in steps), default=0) or 1
    usable = FUNNEL_WIDTH - FUNNEL_LABEL - 220
    value_of = value_format or _plain
    bars = []
    for index, step in enumerate(steps):
        y = index * (FUNNEL_BAR + FUNNEL_GAP)
        width = round(usable * step["customers"] / top, 1)
        value = value_of(float(step.get("value") or 0))
        bars.append(
            {
                "label": step["label"],
                "x": FUNNEL_LABEL,
                "y": y,
                "width": max(width, 1 if step["customers"] else 0),
                "height": FUNNEL_BAR,
                "text_y": y + FUNNEL_BAR / 2 + 5,
                "value_x": FUNNEL_LABEL + width + 8,
                "customers": step["customers"],
                "rate": step["conversionFromStart"],
                "value": value,
                "tip": f"{step['label']}: {step['customers']:,} customers · {step['conversionFromStart']}% of the "
                f"first step · {step['conversionFromPrevious']}% of the previous · {value}",
                "colour": PALETTE[0],
            }
        )
    height = len(steps) * (FUNNEL_BAR + FUNNEL_GAP)
    return {"width": FUNNEL_WIDTH, "height": height, "bars": bars}
