"""``/kpi compare``: the teams someone looks after side by side, one line per metric, best team first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.kpi import MetricLine, Scorecard, in_catalogue_order
from bot.domain.metrics import MetricDef


@dataclass(frozen=True, slots=True)
class TeamFigure:
    team: str  # the team's name
    line: MetricLine


@dataclass(frozen=True, slots=True)
class Comparison:
    metric: MetricDef
    figures: tuple[TeamFigure, ...]  # best first; teams without a figure last, by name


def compare_teams(cards: Sequence[Scorecard]) -> list[Comparison]:
    """One comparison per metric that any team has a figure for, in catalogue order; each team's line (value,
    its own target's RAG) ranked by value in the metric's better direction. A team without that metric's line
    at all is left out of it."""
    by_metric: dict[str, list[TeamFigure]] = {}
    metrics: dict[str, MetricDef] = {}
    for card in cards:
        for line in card.lines:
            metrics.setdefault(line.metric.key, line.metric)
            by_metric.setdefault(line.metric.key, []).append(TeamFigure(card.title, line))
    out = []
    for metric in in_catalogue_order(metrics.values()):
        figures = by_metric[metric.key]
        if all(f.line.value is None for f in figures):
            continue
        sign = -1 if metric.higher_is_better else 1
        ranked = sorted(
            figures,
            key=lambda f: (f.line.value is None, sign * f.line.value if f.line.value is not None else 0, f.team),
        )
        out.append(Comparison(metric, tuple(ranked)))
    return out
