"""Metric definitions, aggregation kinds, RAG status and value formatting.

Every metric declares how it aggregates; nothing is assumed. Rates are stored as numerator and denominator so
that a team's figure over several days is a ratio of sums (never a mean of daily percentages).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Aggregation(StrEnum):
    RATIO = "ratio"  # sum(numerator) / sum(denominator) * scale: SLA, CSAT, QA, AHT, productivity, adherence
    SUM = "sum"  # sum(numerator): items handled, tickets solved
    MEAN = "mean"  # mean of each sample's numerator/denominator * scale: a figure with no natural weight


class Unit(StrEnum):
    PERCENT = "%"
    SECONDS = "s"
    PER_HOUR = "/h"
    COUNT = "count"
    SCORE = "score"


class Rag(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NONE = "none"  # no target or no value


RAG_EMOJI = {Rag.GREEN: "🟢", Rag.AMBER: "🟠", Rag.RED: "🔴", Rag.NONE: "⚪"}


@dataclass(frozen=True, slots=True)
class MetricDef:
    key: str
    label: str
    unit: Unit
    higher_is_better: bool
    aggregation: Aggregation
    scale: float = 1.0  # display value = numerator / denominator * scale
    position: int = 100  # order on the scorecard


@dataclass(frozen=True, slots=True)
class Target:
    """``green`` is the target itself; ``amber`` the edge of the tolerable band (display units)."""

    green: float
    amber: float


# The catalogue a fresh install starts with; org.yml may add metrics or change labels.
DEFAULT_METRICS: tuple[MetricDef, ...] = (
    MetricDef("qa", "QA score", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 10),
    MetricDef("accuracy", "Accuracy", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 20),
    MetricDef("sla", "SLA met", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 30),
    MetricDef("csat", "CSAT", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 40),
    MetricDef("resolution", "Resolution", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 50),
    MetricDef("compliance", "Compliance", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 60),
    MetricDef("adherence", "Adherence", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 70),
    MetricDef("productivity", "Productivity", Unit.PER_HOUR, True, Aggregation.RATIO, 1.0, 80),
    MetricDef("aht", "Handle time", Unit.SECONDS, False, Aggregation.RATIO, 1.0, 90),
    MetricDef("items", "Items handled", Unit.COUNT, True, Aggregation.SUM, 1.0, 95),
    # Computed by Rhythm from schedules and agent states (minutes; bot/domain/adherence_kpis.py). Kept apart from
    # "adherence", which a WFM export imports with its own definition, so the two never add up in one sum.
    MetricDef("schedule_adherence", "Schedule adherence", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 96),
    MetricDef("conformance", "Conformance", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 97),
)


def rag(value: float | None, target: Target | None, *, higher_is_better: bool) -> Rag:
    """Green meets the target, amber is within the amber band, red is beyond it."""
    if value is None or target is None:
        return Rag.NONE
    if higher_is_better:
        if value >= target.green:
            return Rag.GREEN
        return Rag.AMBER if value >= target.amber else Rag.RED
    if value <= target.green:
        return Rag.GREEN
    return Rag.AMBER if value <= target.amber else Rag.RED


def format_value(value: float | None, unit: Unit) -> str:
    if value is None or math.isnan(value):
        return "—"
    if unit is Unit.PERCENT:
        return f"{value:.1f}%"
    if unit is Unit.SECONDS:
        total = round(value)
        return f"{total // 60}m {total % 60:02d}s" if total >= 60 else f"{total}s"
    if unit is Unit.PER_HOUR:
        return f"{value:.1f}/h"
    if unit is Unit.COUNT:
        return f"{value:,.0f}"
    return f"{value:.2f}"


_DELTA_FORMATS = {
    Unit.PERCENT: ("{:.1f} pts", 1),
    Unit.SECONDS: ("{:.0f}s", 0),
    Unit.PER_HOUR: ("{:.1f}/h", 1),
    Unit.COUNT: ("{:,.0f}", 0),
    Unit.SCORE: ("{:.2f}", 2),
}


def format_delta(delta: float | None, unit: Unit, *, higher_is_better: bool = True) -> str:
    """Signed change vs the previous period, in the metric's own terms (percentage points for rates),
    and whether that is better or worse, since "up" is bad for handle time."""
    if delta is None:
        return "no previous data"
    template, decimals = _DELTA_FORMATS[unit]
    delta = round(delta, decimals)  # a change too small to show is no change
    body = template.format(abs(delta))
    if delta == 0:
        return f"▶ ±{body}"
    verdict = "better" if (delta > 0) == higher_is_better else "worse"
    return f"{'▲' if delta > 0 else '▼'} {'+' if delta > 0 else '−'}{body} {verdict}"


def value_from_display(value: float, metric: MetricDef) -> tuple[float, float]:
    """Numerator and denominator for a sample given only as a displayed value (weight 1)."""
    if metric.aggregation is Aggregation.SUM:
        return value, 0.0
    return value / metric.scale, 1.0
