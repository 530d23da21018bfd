"""The skips-per-day bar chart of the report, as SVG coordinates.

:func:`daily_chart` lays the chart out; the template draws it on the server:
the page needs no script and no network.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext, ngettext, pgettext


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: str
    label: str


@dataclass(frozen=True)
class XLabel:
    x: str
    label: str


@dataclass
class Chart:
    """An SVG bar chart's geometry, every number already a string for the markup."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[XLabel]
    description: str


def nice_step(top: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` gridlines."""
    if top <= ticks:
        return 1
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * power:
            return int(multiple * power)
    return int(10 * power)  # pragma: no cover


def daily_chart(
    days: list[tuple[datetime.date, int]], width: int = 900, height: int = 240
) -> Chart:
    """Lay out one bar per day, a y axis with round ticks, and a few dates below."""
    left, right, top_pad, bottom_pad = 48, 8, 10, 28
    plot_width = width - left - right
    plot_height = height - top_pad - bottom_pad
    bottom = top_pad + plot_height
    highest = max((n for _, n in days), default=0)
    step = nice_step(highest)
    ceiling = max(step, math.ceil(highest / step) * step)
    slot = plot_width / max(len(days), 1)
    gap = min(slot * 0.2, 4.0)

    bars = []
    for i, (day, n) in enumerate(days):
        h = plot_height * n / ceiling
        title = ngettext("%(day)s: %(count)s skip", "%(day)s: %(count)s skips", n) % {
            "day": date_format(day, "DATE_FORMAT"),
            "count": number_format(n, force_grouping=True),
        }
        bars.append(
            Bar(
                x=f"{left + i * slot + gap / 2:.2f}",
                y=f"{bottom - h:.2f}",
                width=f"{max(slot - gap, 0.5):.2f}",
                height=f"{h:.2f}",
                title=title,
            )
        )
    ticks = [
        Tick(
            y=f"{bottom - plot_height * value / ceiling:.2f}",
            label=number_format(value, force_grouping=True),
        )
        for value in range(0, ceiling + 1, step)
    ]
    every = max(1, math.ceil(len(days) / 8))
    labels = [
        XLabel(
            x=f"{left + (i + 0.5) * slot:.2f}",
            label=date_format(day, pgettext("skips chart axis: a day", "M j")),
        )
        for i, (day, _) in enumerate(days)
        if i % every == 0
    ]
    total = sum(n for _, n in days)
    description = gettext(
        "Skips per day from %(first)s to %(last)s: %(total)s in all, at most %(most)s a day."
    ) % {
        "first": date_format(days[0][0], "DATE_FORMAT") if days else "",
        "last": date_format(days[-1][0], "DATE_FORMAT") if days else "",
        "total": number_format(total, force_grouping=True),
        "most": number_format(highest, force_grouping=True),
    }
    return Chart(
        width=width,
        height=height,
        plot_left=left,
        plot_right=width - right,
        plot_bottom=bottom,
        bars=bars,
        ticks=ticks,
        labels=labels,
        description=description,
    )
