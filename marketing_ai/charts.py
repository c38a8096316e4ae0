"""Inline SVG chart geometry (no chart library): the view computes points, the template draws them."""

WIDTH, HEIGHT, PAD = 640, 200, 28


def line_chart(*, labels: list[str], series: dict[str, list[float]]) -> dict:
    """Polylines for one or more series over shared x labels, scaled to the largest value."""
    top = max([max(values, default=0) for values in series.values()] + [0]) or 1
    count = max(len(labels), 1)
    step = (WIDTH - 2 * PAD) / max(count - 1, 1)

    def point(index: int, value: float) -> str:
        x = PAD + index * step
        y = HEIGHT - PAD - (value / top) * (HEIGHT - 2 * PAD)
        return f"{x:.1f},{y:.1f}"

    lines = [
        {"name": name, "points": " ".join(point(i, v) for i, v in enumerate(values)), "css": f"series-{n}"}
        for n, (name, values) in enumerate(series.items())
    ]
    ticks = [{"x": PAD + i * step, "label": label[5:]} for i, label in enumerate(labels)]
    if len(ticks) > 10:
        every = len(ticks) // 10 + 1
        ticks = ticks[::every]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "pad": PAD,
        "lines": lines,
        "ticks": ticks,
        "top": top,
        "baseline": HEIGHT - PAD,
    }


def bar_chart(*, labels: list[str], values: list[float]) -> dict:
    """Bars for one series, scaled to the largest value."""
    top = max(values, default=0) or 1
    count = max(len(values), 1)
    slot = (WIDTH - 2 * PAD) / count
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = (value / top) * (HEIGHT - 2 * PAD)
        bars.append(
            {
                "x": PAD + index * slot + slot * 0.15,
                "y": HEIGHT - PAD - height,
                "width": slot * 0.7,
                "height": height,
                "label": label[5:],
                "value": value,
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "pad": PAD,
        "bars": bars,
        "top": top,
        "baseline": HEIGHT - PAD,
        "show_labels": count <= 16,
    }
