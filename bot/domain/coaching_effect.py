"""KPI evidence for a coaching session, and the coaching effect: the same figures since the session.

The evidence is frozen at the session as plain JSON (display values, with each metric's unit and direction),
so a later change of metric definitions or a purge of old samples cannot rewrite what was discussed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.domain.kpi import DaySums, index_days, sum_days, value_of
from bot.domain.metrics import MetricDef as Metric
from bot.domain.metrics import Target, Unit, format_delta, format_value, rag
from bot.domain.periods import DateRange

EVIDENCE_DAYS = 14  # the fortnight up to and including the session day


def evidence_window(held_on: date) -> DateRange:
    return DateRange(held_on - timedelta(days=EVIDENCE_DAYS - 1), held_on)


def effect_window(held_on: date, today: date) -> DateRange | None:
    """From the day after the session to today; None while that is empty."""
    start = held_on + timedelta(days=1)
    return DateRange(start, today) if today >= start else None


def snapshot(
    metrics: Sequence[Metric], rows: Sequence[DaySums], targets: Mapping[str, Target], window: DateRange
) -> dict[str, Any]:
    """The agent's figures over ``window`` as JSON-ready data: only metrics with data."""
    index = index_days(rows)
    lines = []
    for m in sorted(metrics, key=lambda m: (m.position, m.key)):
        value = value_of(sum_days(index, m.key, window), m)
        if value is None:
            continue
        target = targets.get(m.key)
        lines.append(
            {
                "key": m.key,
                "label": m.label,
                "unit": m.unit.value,
                "higher_is_better": m.higher_is_better,
                "value": round(value, 4),
                "target": target.green if target else None,
                "status": rag(value, target, higher_is_better=m.higher_is_better).value,
            }
        )
    return {"from": window.start.isoformat(), "to": window.end.isoformat(), "metrics": lines}


@dataclass(frozen=True, slots=True)
class EffectLine:
    label: str
    before: str
    after: str
    change: str  # "▲ +3.0 pts better", or "no data since"


def coaching_effect(evidence: Mapping[str, Any], since: Mapping[str, Any]) -> list[EffectLine]:
    """Each metric of the session's evidence, then and since, with the change and whether it is better."""
    now = {m["key"]: m for m in since.get("metrics", [])}
    lines = []
    for m in evidence.get("metrics", []):
        unit = Unit(m["unit"])
        after = now.get(m["key"])
        after_value = after["value"] if after else None
        delta = None if after_value is None else after_value - m["value"]
        lines.append(
            EffectLine(
                label=str(m["label"]),
                before=format_value(m["value"], unit),
                after=format_value(after_value, unit),
                change="no data since"
                if delta is None
                else format_delta(delta, unit, higher_is_better=m["higher_is_better"]),
            )
        )
    return lines
