"""Daily schedule adherence and conformance as KPI figures: one agent-day's numerator and denominator.

Rhythm writes them under their own metric keys, ``schedule_adherence`` and ``conformance`` (source
``rhythm-adherence``), never under ``adherence``: that key is what a WFM export imports with the vendor's own
definition, and mixing the two in one sum would add, say, a NICE percentage to Rhythm's minutes. Two keys keep
every scorecard line one definition, with its own target.

Both are ratios of minutes, so a team's or a week's figure is a ratio of sums:

- schedule adherence = minutes in adherence ÷ counted minutes (scheduled, neither neutral nor excused);
- conformance = minutes in a working state ÷ scheduled on-queue minutes (excused time out of both; can exceed
  100 %).

An agent-day with nothing counted yet (the shift has not started, or all of it was neutral or excused) yields no
figure: a zero denominator would show as a line with no value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.adherence import AdherenceResult

SOURCE = "rhythm-adherence"
SCHEDULE_ADHERENCE = "schedule_adherence"
CONFORMANCE = "conformance"
METRIC_KEYS = (SCHEDULE_ADHERENCE, CONFORMANCE)


@dataclass(frozen=True, slots=True)
class Figure:
    metric: str
    numerator: float  # minutes
    denominator: float  # minutes, > 0


def daily_figures(result: AdherenceResult) -> list[Figure]:
    """The agent-day's figures from its adherence result (an empty list when nothing counts yet)."""
    figures = []
    if result.counted_seconds > 0:
        figures.append(Figure(SCHEDULE_ADHERENCE, result.in_seconds / 60, result.counted_seconds / 60))
    if result.on_queue_scheduled_seconds > 0:
        figures.append(Figure(CONFORMANCE, result.on_queue_worked_seconds / 60, result.on_queue_scheduled_seconds / 60))
    return figures


def day_window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day as [midnight, next midnight) in UTC: 23 or 25 hours long on a DST change."""
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """The local days the moments ``[start, end)`` fall on."""
    first, last = start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def recent_days(now: datetime, tz: ZoneInfo, days_back: int = 1) -> list[date]:
    """The local days to (re)compute at ``now``: ``days_back`` whole days before today, then today so far."""
    today = now.astimezone(tz).date()
    return [today - timedelta(days=i) for i in range(days_back, -1, -1)]
