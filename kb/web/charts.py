"""The server-drawn chart of the analytics pages: geometry the SVG template draws, so the chart
needs no script (the CSP allows none inline) and its data is also given as a table."""

from __future__ import annotations

import math
from typing import Any

from kb.analytics.model import Point


def chart(points: list[Point], *, width: int = 720, height: int = 260) -> dict[str, Any]:
    """Geometry of the chart: stacked yes/no bars, and the helpful rate as a line."""
    left, right, top, bottom = 44, 52, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((p.votes for p in points), default=0)
    scale = nice_ceiling(peak)
    slot = plot_w / max(1, len(points))
    bar_w = max(1.0, slot * 0.7)
    bars, line = [], []
    for i, p in enumerate(points):
        x = left + i * slot + (slot - bar_w) / 2
        h_yes = plot_h * p.yes / scale
        h_no = plot_h * p.no / scale
        bars.append({"x": round(x, 1), "w": round(bar_w, 1), "y_yes": round(top + plot_h - h_yes, 1),
                     "h_yes": round(h_yes, 1), "y_no": round(top + plot_h - h_yes - h_no, 1),
                     "h_no": round(h_no, 1), "point": p})
        if p.rate is not None:
            line.append(f"{round(left + i * slot + slot / 2, 1)},{round(top + plot_h * (1 - p.rate), 1)}")
    step = max(1, math.ceil(len(points) / 8))  # at most about eight date labels
    labels = [{"x": round(left + i * slot + slot / 2, 1), "text": p.start.strftime("%m-%d")}
              for i, p in enumerate(points) if i % step == 0]
    ticks = [{"y": round(top + plot_h * (1 - f), 1), "votes": round(scale * f), "rate": f"{round(f * 100)}%"}
             for f in (0, 0.5, 1)]
    return {"width": width, "height": height, "left": left, "right": width - right, "top": top,
            "bottom": top + plot_h, "bars": bars, "line": " ".join(line), "dots": line, "labels": labels,
            "ticks": ticks}


def nice_ceiling(value: int) -> int:
    """The top of the vote axis: 1, 2, 2.5 or 5 times a power of ten, so its ticks read well."""
    if value <= 4:
        return 4
    magnitude = 10 ** (len(str(value)) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return int(factor * magnitude)
    return value  # pragma: no cover
