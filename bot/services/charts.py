"""Trend chart for the campaign report: a PNG of the last 14 days per key KPI, one line per team.

matplotlib is CPU-bound and not async: callers run ``render_trend_png`` in a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

MAX_TEAM_LINES = 8  # more lines than this is noise; the chart then shows the site figure only


@dataclass(frozen=True, slots=True)
class Panel:
    title: str  # "CSAT (%)"
    series: Mapping[str, Sequence[float | None]]  # team name -> one value per day (None: no data)
    target: float | None  # drawn as a dashed line when every team shares it


def render_trend_png(days: Sequence[date], panels: Sequence[Panel]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # no display; safe in a server thread
    from matplotlib.figure import Figure  # the OO API keeps no global pyplot state between renders

    cols = 2
    rows = max(1, (len(panels) + cols - 1) // cols)
    fig = Figure(figsize=(11, 3.2 * rows), dpi=100, layout="constrained")
    labels = [d.strftime("%d %b") for d in days]
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        for name, values in list(panel.series.items())[:MAX_TEAM_LINES]:
            xs = [x for x, v in enumerate(values) if v is not None]
            ax.plot(xs, [v for v in values if v is not None], marker="o", markersize=3, linewidth=1.5, label=name)
        if panel.target is not None:
            ax.axhline(panel.target, color="grey", linestyle="--", linewidth=1, label="target")
        ax.set_title(panel.title, fontsize=11, loc="left")
        ax.set_xticks(range(len(labels))[::2], labels[::2], fontsize=8, rotation=45)
        ax.grid(alpha=0.3)
        ax.tick_params(axis="y", labelsize=8)
    if panels:
        fig.axes[0].legend(fontsize=8, loc="best")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
