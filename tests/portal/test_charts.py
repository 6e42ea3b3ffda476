"""The usage chart's geometry (portal.charts): scales, ticks, labels in the active language."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from portal import charts


def series(
    values, *, limit=100, start=date(2025, 3, 1), end=date(2025, 4, 1), resource="api_calls"
):
    """A series as usage.selectors.usage_daily_get returns it, with `cumulative` per day from `start`."""
    days = [
        {
            "day": date.fromordinal(start.toordinal() + i),
            "value": Decimal(0),
            "cumulative": Decimal(v),
        }
        for i, v in enumerate(values)
    ]
    as_dt = lambda d: datetime(d.year, d.month, d.day, tzinfo=UTC)  # noqa: E731
    return {
        "resource_type": resource,
        "unit": "requests",
        "limit": limit,
        "period_start": as_dt(start),
        "period_end": as_dt(end),
        "days": days,
    }


def xy(points: str) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in points.split()]


@pytest.mark.parametrize(
    "raw, step",
    [
        (0.3, 0.5),
        (1, 1),
        (1.2, 2),
        (2.2, 2.5),
        (3, 5),
        (7, 10),
        (25, 25),
        (260, 500),
        (1000, 1000),
        (0, 1),
    ],
)
def test_nice_step(raw, step):
    assert charts.nice_step(raw) == step


def test_y_ticks_reach_a_round_number_above_the_top():
    assert charts.y_ticks_for(100) == [0, 25, 50, 75, 100]
    assert charts.y_ticks_for(130) == [0, 50, 100, 150]
    assert charts.y_ticks_for(5000) == [0, 2500, 5000]
    assert charts.y_ticks_for(10_000) == [0, 2500, 5000, 7500, 10_000]
    assert charts.y_ticks_for(0.4) == [0, 0.1, 0.2, 0.3, 0.4]
    assert charts.y_ticks_for(0) == [0, 1]


def test_the_line_starts_at_zero_and_ends_each_day_at_its_running_total():
    chart = charts.usage_chart(series([10, 10, 40], limit=100))  # March: 31 days on the x axis
    points = xy(chart.points)
    plot_width = charts.WIDTH - charts.LEFT - charts.RIGHT
    bottom, top = charts.HEIGHT - charts.BOTTOM, charts.TOP
    assert points[0] == (charts.LEFT, bottom)  # 0 at the start of the period
    assert len(points) == 4
    # The end of day 3 of 31 is 3/31 of the way along; 40 of 100 is 40% of the way up.
    assert points[3][0] == pytest.approx(charts.LEFT + plot_width * 3 / 31, abs=0.01)
    assert points[3][1] == pytest.approx(bottom - (bottom - top) * 0.4, abs=0.01)
    assert points[1][1] == points[2][1]  # a day without events stays level
    assert chart.limit_y == pytest.approx(top)  # the limit, 100, is the top gridline
    assert chart.has_usage


def test_usage_beyond_the_limit_raises_the_scale_above_it():
    chart = charts.usage_chart(series([10, 260], limit=100))
    assert [tick.label for tick in chart.y_ticks] == ["0", "100", "200", "300"]
    assert chart.limit_y == pytest.approx(
        charts.TOP + (charts.HEIGHT - charts.BOTTOM - charts.TOP) * (1 - 100 / 300), abs=0.01
    )
    assert min(y for _, y in xy(chart.points)) >= charts.TOP  # nothing drawn above the plot


def test_an_unlimited_resource_has_no_limit_line():
    with translation.override("en"):
        chart = charts.usage_chart(series([5], limit=None))
    assert chart.limit_y is None
    assert "no limit" in chart.label


def test_a_series_without_usage_is_flat_and_says_so():
    chart = charts.usage_chart(series([0, 0], limit=None))
    assert not chart.has_usage
    assert {y for _, y in xy(chart.points)} == {charts.HEIGHT - charts.BOTTOM}


def test_the_x_axis_spans_the_whole_period_with_dates_in_the_active_language():
    with translation.override("en"):
        chart = charts.usage_chart(
            series([1], limit=5000, start=date(2025, 3, 1), end=date(2025, 4, 1))
        )
        assert [tick.label for tick in chart.x_ticks] == ["03/01/2025", "03/16/2025", "03/31/2025"]
        assert chart.x_ticks[-1].position == charts.WIDTH - charts.RIGHT
        assert [tick.label for tick in chart.y_ticks][-1] == "5,000"
        assert chart.label == "api_calls from 03/01/2025 to 03/31/2025: 1 of 5,000 requests so far."
    with translation.override("pt-br"):
        chart = charts.usage_chart(series([Decimal("1.5")], limit=5000))
        assert chart.x_ticks[0].label == "01/03/2025"
        assert chart.y_ticks[-1].label == "5.000"
        assert "1,5 de 5.000 requests" in chart.label
