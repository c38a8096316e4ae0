"""Geometry for the server-rendered inline SVG charts (no chart library): the template only draws it."""

from datetime import date

FUNNEL_WIDTH, FUNNEL_BAR, FUNNEL_GAP, FUNNEL_LABEL = 640, 34, 14, 170
SERIES_WIDTH, SERIES_HEIGHT, SERIES_PAD = 640, 200, 32


def funnel_chart(funnel: dict) -> dict:
    """Horizontal bars, one per step, scaled to the largest step."""
    steps = funnel["steps"]
    top = max((step["customers"] for step in steps), default=0) or 1
    usable = FUNNEL_WIDTH - FUNNEL_LABEL - 90
    bars = []
    for index, step in enumerate(steps):
        y = index * (FUNNEL_BAR + FUNNEL_GAP)
        width = round(usable * step["customers"] / top, 1)
        bars.append(
            {
                "label": step["label"],
                "x": FUNNEL_LABEL,
                "y": y,
                "width": max(width, 1 if step["customers"] else 0),
                "height": FUNNEL_BAR,
                "text_y": y + FUNNEL_BAR / 2 + 4,
                "value_x": FUNNEL_LABEL + width + 8,
                "customers": step["customers"],
                "rate": step["conversionFromStart"],
            }
        )
    height = len(steps) * (FUNNEL_BAR + FUNNEL_GAP)
    return {"width": FUNNEL_WIDTH, "height": height, "bars": bars}


def series_chart(series: list[dict]) -> dict:
    """A line of events per day and bars of purchases per day, with a few date ticks."""
    width, height, pad = SERIES_WIDTH, SERIES_HEIGHT, SERIES_PAD
    count = len(series)
    top = max((point["events"] for point in series), default=0) or 1
    step = (width - 2 * pad) / max(count - 1, 1)
    bottom = height - pad

    def y_of(value: int) -> float:
        return round(bottom - (height - 2 * pad) * value / top, 1)

    points = " ".join(f"{round(pad + i * step, 1)},{y_of(p['events'])}" for i, p in enumerate(series))
    bar_width = max(min(step * 0.6, 14), 1)
    bars = [
        {
            "x": round(pad + i * step - bar_width / 2, 1),
            "y": y_of(p["purchases"]),
            "width": round(bar_width, 1),
            "height": round(bottom - y_of(p["purchases"]), 1),
            "title": f"{p['date']}: {p['events']} events, {p['purchases']} purchases",
        }
        for i, p in enumerate(series)
        if p["purchases"]
    ]
    every = max(count // 6, 1)
    ticks = [
        {"x": round(pad + i * step, 1), "label": date.fromisoformat(p["date"]).strftime("%b %d")}
        for i, p in enumerate(series)
        if i % every == 0
    ]
    return {
        "width": width,
        "height": height,
        "points": points,
        "bars": bars,
        "ticks": ticks,
        "bottom": bottom,
        "top_label": top,
        "pad": pad,
        "right": width - pad,
        "label_y": height - 10,
    }
