"""The Finance overview's charts as inline SVG coordinates, drawn on the server (like the portal's
usage chart, portal.charts): an MRR line and a stacked bar per month of the MRR movements. No
JavaScript and nothing from a CDN. Coordinates are floats; money stays integer minor units until
the axis labels, which are in major units."""

from __future__ import annotations

from dataclasses import dataclass

from billing_project.money import to_major
from portal.charts import y_ticks_for

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 12, 28
COLOURS = {
    "new": "#2e7d32",
    "expansion": "#66bb6a",
    "reactivation": "#29b6f6",
    "contraction": "#ffa726",
    "churn": "#e53935",
}


@dataclass
class Chart:
    width: int
    height: int
    y_ticks: list  # (y, label)
    x_labels: list  # (x, label)
    line: str = ""  # polyline points
    points: list | None = None  # (x, y, title)
    bars: list | None = None  # (x, y, w, h, colour, title)
    zero_y: float = 0.0


def _scale(low: int, high: int):
    span = max(high - low, 1)
    plot = HEIGHT - TOP - BOTTOM
    return lambda value: TOP + plot * (high - value) / span


def _ticks(low: int, high: int, currency: str):
    """Round gridlines covering [low, high] (minor units), labelled in major units."""
    top = y_ticks_for(max(high, 0))
    bottom = [-t for t in y_ticks_for(-low)][1:] if low < 0 else []
    return sorted({int(v) for v in top + bottom})


def _x(index: int, count: int) -> float:
    plot = WIDTH - LEFT - RIGHT
    return LEFT + plot * (index + 0.5) / max(count, 1)


def mrr_chart(figures, currency: str) -> Chart:
    """MRR at each month's end."""
    values = [f.mrr for f in figures]
    ticks = _ticks(0, max(values or [0]), currency)
    y = _scale(ticks[0], ticks[-1])
    points = [
        (_x(i, len(figures)), y(f.mrr), f"{f.month:%Y-%m}: {to_major(f.mrr, currency)}")
        for i, f in enumerate(figures)
    ]
    return Chart(
        WIDTH,
        HEIGHT,
        [(y(t), to_major(t, currency)) for t in ticks],
        [(_x(i, len(figures)), f"{f.month:%Y-%m}") for i, f in enumerate(figures)],
        line=" ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points),
        points=points,
        zero_y=y(0),
    )


def movements_chart(figures, currency: str) -> Chart:
    """Stacked bars: gains above zero (new, expansion, reactivation), losses below."""
    ups = [sum(max(f.amounts[k], 0) for k in COLOURS) for f in figures]
    downs = [sum(min(f.amounts[k], 0) for k in COLOURS) for f in figures]
    ticks = _ticks(min(downs or [0]), max(ups or [0]), currency)
    y = _scale(ticks[0], ticks[-1])
    width = (WIDTH - LEFT - RIGHT) / max(len(figures), 1) * 0.6
    bars = []
    for i, f in enumerate(figures):
        x = _x(i, len(figures)) - width / 2
        above = below = 0
        for kind, colour in COLOURS.items():
            amount = f.amounts[kind]
            if not amount:
                continue
            title = f"{f.month:%Y-%m} {kind}: {to_major(amount, currency)}"
            if amount > 0:
                top, bottom = y(above + amount), y(above)
                above += amount
            else:
                top, bottom = y(below), y(below + amount)
                below += amount
            bars.append((x, top, width, max(bottom - top, 0.5), colour, title))
    return Chart(
        WIDTH,
        HEIGHT,
        [(y(t), to_major(t, currency)) for t in ticks],
        [(_x(i, len(figures)), f"{f.month:%Y-%m}") for i, f in enumerate(figures)],
        bars=bars,
        zero_y=y(0),
    )
