"""The dashboard's usage chart: a day-by-day series of one resource (usage.selectors.usage_daily_get)
turned into the coordinates of a small inline SVG. Server-side, so the portal stays free of
JavaScript and of anything loaded from elsewhere; the viewBox lets it shrink to a phone's width."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext

WIDTH, HEIGHT = 480, 200
# The plot area inside the viewBox; the margins hold the axis labels.
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28


def nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= raw (the gridline spacing)."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw * (1 - 1e-9):
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def y_ticks_for(top_value: float) -> list[float]:
    """Gridline values from 0 to the lowest round number >= top_value that 2 to 4 round steps reach
    (so that a limit of 5000 is the top line, not 6000)."""
    if top_value <= 0:
        return [0, 1]
    candidates = []
    for count in (4, 3, 2):
        step = nice_step(top_value / count)
        steps = max(1, math.ceil(top_value / step - 1e-9))
        candidates.append((step * steps, -steps, step))
    top, minus_steps, step = min(candidates)
    return [round(step * i, 10) for i in range(-minus_steps + 1)]


def number_label(value: float) -> str:
    """A gridline value in the active language (1,000 / 1.000), without needless decimals."""
    number = Decimal(str(value)).normalize()
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    return formats.number_format(number, use_l10n=True, force_grouping=True)


def date_label(day: date) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT", use_l10n=True)


@dataclass(frozen=True)
class Tick:
    position: float  # x or y in viewBox units
    label: str
    anchor: str = "middle"  # SVG text-anchor of an x label


@dataclass(frozen=True)
class UsageChart:
    resource_type: str
    unit: str
    width: int
    height: int
    points: str  # the cumulative line, as SVG polyline points "x,y x,y ..."
    limit_y: float | None  # the dashed limit line, when the plan limits the resource
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    label: str  # what a screen reader says for the whole chart
    has_usage: bool
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM


def _last_day(series: dict) -> date:
    end = series["period_end"]
    if isinstance(end, datetime):
        return (end - timedelta(microseconds=1)).date()
    return end - timedelta(days=1)


def _first_day(series: dict) -> date:
    start = series["period_start"]
    return start.date() if isinstance(start, datetime) else start


def usage_chart(series: dict) -> UsageChart:
    """One resource's series -> the chart: the period's running value (`cumulative`) at the end of
    each day so far, from 0 at the period's start, against the plan's limit."""
    first, last = _first_day(series), _last_day(series)
    span_days = max((last - first).days + 1, 1)  # the x axis covers the whole period
    limit = series.get("limit")
    values = [float(day["cumulative"]) for day in series["days"]]
    top_value = max(values + [float(limit) if limit is not None else 0.0, 0.0])
    ticks = y_ticks_for(top_value)
    y_max = ticks[-1]
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_at(days_from_start: float) -> float:
        return round(LEFT + plot_width * days_from_start / span_days, 2)

    def y_at(value: float) -> float:
        return round(TOP + plot_height * (1 - value / y_max), 2)

    points = [(x_at(0), y_at(0))] if series["days"] else []
    for day, value in zip(series["days"], values, strict=True):
        points.append(
            (x_at((day["day"] - first).days + 1), y_at(value))
        )  # the value at the end of that day
    middle = first + timedelta(days=(span_days - 1) // 2)
    x_ticks = [
        Tick(x_at(0), date_label(first), "start"),
        Tick(x_at((middle - first).days + 0.5), date_label(middle)),
        Tick(x_at(span_days), date_label(last), "end"),
    ]
    latest = series["days"][-1]["cumulative"] if series["days"] else Decimal(0)
    if limit is None:
        label = gettext(
            "%(resource)s from %(start)s to %(end)s: %(used)s %(unit)s so far, no limit."
        )
    else:
        label = gettext(
            "%(resource)s from %(start)s to %(end)s: %(used)s of %(limit)s %(unit)s so far."
        )
    label = label % {
        "resource": series["resource_type"],
        "start": date_label(first),
        "end": date_label(last),
        "used": number_label(float(latest)),
        "limit": number_label(float(limit or 0)),
        "unit": series["unit"],
    }
    return UsageChart(
        resource_type=series["resource_type"],
        unit=series["unit"],
        width=WIDTH,
        height=HEIGHT,
        points=" ".join(f"{x:g},{y:g}" for x, y in points),
        limit_y=y_at(float(limit)) if limit is not None else None,
        x_ticks=x_ticks,
        y_ticks=[Tick(y_at(value), number_label(value)) for value in ticks],
        label=label,
        has_usage=any(value > 0 for value in values),
    )
