"""Bar charts as plain SVG, drawn by the run itself (no plotting dependency).

Usage::

    svg = bar_chart("Reads", [Bar("get hit, sequential, vs floor", 1.4, 1.3, 1.5)],
                    lines=[(1.0, "1x"), (0.95, "target")])
    Path("docs/assets/benchmarks/reads.svg").write_text(svg)

One horizontal bar per row: its length is the median, a whisker spans min to max
over the repeats, and the median is written at the end of the bar. Vertical lines
mark reference values (1x, a target). ``log=True`` draws a log scale, for counts
that span orders of magnitude.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

__all__ = ["Bar", "bar_chart"]

WIDTH, ROW, TOP, BOTTOM, RIGHT = 860, 22, 34, 30, 70
COLOURS = ("#3f51b5", "#9fa8da", "#ff9800", "#80cbc4")


@dataclass(frozen=True)
class Bar:
    label: str
    median: float
    low: float
    high: float
    group: int = 0  # colour index: 0 cachewright vs the floor, 1 vs a peer, ...


def _fmt(value: float, unit: str) -> str:
    if value >= 1000 or (unit == "" and value == int(value)):
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.2f}"


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    *,
    lines: Sequence[tuple[float, str]] = (),
    log: bool = False,
    unit: str = "x",
    legend: Sequence[str] = (),
) -> str:
    left = int(min(560, max(160, 6.6 * max((len(b.label) for b in bars), default=0) + 12)))
    top = max([b.high for b in bars] + [v for v, _ in lines] + [1e-9]) * 1.08
    span = WIDTH - left - RIGHT
    floor = 1.0 if log else 0.0
    if log:
        top = max(top, 10.0)

    def x(value: float) -> float:
        value = max(value, floor)
        if log:
            return left + span * math.log10(value) / math.log10(top)
        return left + span * value / top

    legend_h = 18 if legend else 0
    height = TOP + legend_h + ROW * len(bars) + BOTTOM
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="8" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    used = sorted({b.group for b in bars} & set(range(len(legend))))
    for slot, i in enumerate(used):
        name, lx = legend[i], 8 + slot * 210
        out.append(
            f'<rect x="{lx}" y="{TOP - 4}" width="12" height="12" '
            f'fill="{COLOURS[i % len(COLOURS)]}"/>'
            f'<text x="{lx + 16}" y="{TOP + 6}">{escape(name)}</text>'
        )
    y0 = TOP + legend_h
    for i, bar in enumerate(bars):
        y = y0 + i * ROW
        colour = COLOURS[bar.group % len(COLOURS)]
        out.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(bar.label)}</text>'
        )
        width = max(0.0, x(bar.median) - left)
        out.append(
            f'<rect x="{left}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" fill="{colour}"/>'
        )
        lo, hi, mid = x(bar.low), x(bar.high), y + ROW / 2
        out.append(
            f'<path d="M{lo:.1f},{mid:.1f}H{hi:.1f}M{lo:.1f},{mid - 5:.1f}V{mid + 5:.1f}'
            f'M{hi:.1f},{mid - 5:.1f}V{mid + 5:.1f}" stroke="#212121" stroke-width="1.2"/>'
        )
        out.append(
            f'<text x="{max(hi, x(bar.median)) + 4:.1f}" y="{y + 15}">'
            f"{_fmt(bar.median, unit)}{escape(unit)}</text>"
        )
    bottom = y0 + ROW * len(bars)
    for k, (value, label) in enumerate(lines):
        lx = x(value)
        out.append(
            f'<path d="M{lx:.1f},{y0 - 2}V{bottom + 2}" stroke="#c62828" '
            f'stroke-dasharray="4,3" stroke-width="1"/>'
            f'<text x="{lx:.1f}" y="{bottom + 12 + 11 * (k % 2)}" text-anchor="middle" '
            f'fill="#c62828">'
            f"{escape(label)}</text>"
        )
    out.append(f'<path d="M{left},{y0 - 2}V{bottom + 2}" stroke="#616161" stroke-width="1"/></svg>')
    return "\n".join(out) + "\n"
