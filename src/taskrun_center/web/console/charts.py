"""Inline SVG charts rendered on the server: daily runs (stacked bars) and mean duration (line).

Only numbers and ISO dates produced here reach the SVG, and they pass through ``Markup.format``,
which escapes them like any other value.
"""

from __future__ import annotations

from markupsafe import Markup

from taskrun_center.web.stats import TrendPoint

WIDTH = 400
HEIGHT = 120
PADDING_LEFT = 28
PADDING_BOTTOM = 16
PADDING_TOP = 6


def _scale(value: float, maximum: float, height: float) -> float:
    return 0.0 if maximum <= 0 else value / maximum * height


def trend_chart(points: list[TrendPoint], label: str) -> Markup:
    """Return an SVG of runs per day (green succeeded, red failed, grey other) and mean duration."""
    if not points:
        return Markup("")
    plot_height = HEIGHT - PADDING_BOTTOM - PADDING_TOP
    plot_width = WIDTH - PADDING_LEFT
    slot = plot_width / len(points)
    bar = max(2.0, slot * 0.6)
    max_runs = max(point.runs for point in points) or 1
    durations = [point.avg_duration_ms for point in points if point.avg_duration_ms is not None]
    max_duration = max(durations) if durations else 0.0

    parts = [Markup('<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">').format(
        WIDTH, HEIGHT, label)]
    baseline = HEIGHT - PADDING_BOTTOM
    parts.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#e4e7ec"/>').format(
        PADDING_LEFT, baseline, WIDTH, baseline))
    parts.append(Markup('<text x="0" y="{}">{}</text>').format(PADDING_TOP + 8, max_runs))
    parts.append(Markup('<text x="0" y="{}">0</text>').format(baseline))
    line_points = []
    for index, point in enumerate(points):
        x = PADDING_LEFT + index * slot + (slot - bar) / 2
        other = max(0, point.runs - point.succeeded - point.failed)
        y = float(baseline)
        for count, colour in ((point.succeeded, "#12804a"), (point.failed, "#c42b2b"),
                              (other, "#98a2b3")):
            height = _scale(count, max_runs, plot_height)
            if height > 0:
                y -= height
                parts.append(Markup(
                    '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}" rx="1">'
                    "<title>{} · {}</title></rect>"
                ).format(x, y, bar, height, colour, point.day, count))
        if point.avg_duration_ms is not None:
            cy = baseline - _scale(point.avg_duration_ms, max_duration, plot_height)
            line_points.append(f"{x + bar / 2:.1f},{cy:.1f}")
        if index in (0, len(points) - 1):
            anchor = "start" if index == 0 else "end"
            tx = PADDING_LEFT if index == 0 else WIDTH
            parts.append(Markup('<text x="{}" y="{}" text-anchor="{}">{}</text>').format(
                tx, HEIGHT - 3, anchor, point.day[5:]))
    if len(line_points) > 1:
        parts.append(Markup(
            '<polyline points="{}" fill="none" stroke="#2f6fed" stroke-width="1.5" '
            'stroke-linejoin="round"/>'
        ).format(" ".join(line_points)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
