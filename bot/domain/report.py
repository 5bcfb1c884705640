"""The end-of-day campaign report: every team on every KPI, and the day's biggest movers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.domain.kpi import MetricLine
from bot.domain.metrics import MetricDef


@dataclass(frozen=True, slots=True)
class TeamDay:
    team_name: str
    lines: tuple[MetricLine, ...]
    stale_note: str | None = None

    @property
    def has_data(self) -> bool:
        return any(line.value is not None for line in self.lines)


@dataclass(frozen=True, slots=True)
class Mover:
    team_name: str
    metric: MetricDef
    value: float
    delta: float
    score: float  # improvement relative to the target (or the value): comparable across units


@dataclass(frozen=True, slots=True)
class CampaignReport:
    day: date
    teams: tuple[TeamDay, ...]
    worst: tuple[Mover, ...]
    best: tuple[Mover, ...]

    @property
    def has_data(self) -> bool:
        return any(t.has_data for t in self.teams)


def movers(teams: Sequence[TeamDay], n: int = 3) -> tuple[tuple[Mover, ...], tuple[Mover, ...]]:
    """The ``n`` largest moves for the worse and for the better vs the previous working day.

    Moves are scored relative to the team's target (or the value when there is none), so a 5-point drop in
    SLA and a 40-second rise in handle time can be ranked on one list.
    """
    found: list[Mover] = []
    for team in teams:
        for line in team.lines:
            if line.value is None or line.delta is None or line.delta == 0:
                continue
            improvement = line.delta if line.metric.higher_is_better else -line.delta
            scale = abs(line.target.green) if line.target and line.target.green else abs(line.value)
            if scale == 0:
                continue
            found.append(Mover(team.team_name, line.metric, line.value, line.delta, improvement / scale))
    worst = tuple(sorted((m for m in found if m.score < 0), key=lambda m: m.score)[:n])
    best = tuple(sorted((m for m in found if m.score > 0), key=lambda m: -m.score)[:n])
    return worst, best
