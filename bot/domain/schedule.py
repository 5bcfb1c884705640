"""When a team's scheduled posts are due, in the team's own calendar (working days, holidays, DST).

Slots are named by local date and time ("2026-11-20T10:00"): the same name however often a job fires for
it, on whichever replica — which is what makes "post each slot once" enforceable by a unique row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Calendar:
    tz: ZoneInfo
    working_days: frozenset[str]  # day names: "mon", "tue", …
    holidays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        return DAY_NAMES[day.weekday()] in self.working_days and day not in self.holidays

    def previous_working_day(self, day: date, *, lookback_days: int = 14) -> date:
        """The last working day before ``day`` (a Monday's is the Friday before); plain yesterday if none is
        found within ``lookback_days``."""
        for back in range(1, lookback_days + 1):
            if self.is_working_day(candidate := day - timedelta(days=back)):
                return candidate
        return day - timedelta(days=1)


def parse_calendar(timezone: str, working_days: str | Iterable[str], holidays: Iterable[str | date]) -> Calendar:
    days = working_days.split(",") if isinstance(working_days, str) else list(working_days)
    return Calendar(
        tz=ZoneInfo(timezone),
        working_days=frozenset(d.strip().lower() for d in days if d.strip()),
        holidays=frozenset(h if isinstance(h, date) else date.fromisoformat(h) for h in holidays),
    )


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def slot_name(local: datetime) -> str:
    return local.strftime("%Y-%m-%dT%H:%M")


def local_slot(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The aware moment of ``at`` on ``day``; a time skipped by a DST jump resolves forward (fold=0 → later)."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz)
    # Round-trip through UTC normalises a non-existent local time (e.g. 01:30 when clocks go 01:00→02:00).
    return aware.astimezone(UTC).astimezone(tz)


def latest_slot(now: datetime, at: time, cal: Calendar, *, lookback_days: int = 7) -> datetime | None:
    """The most recent working-day occurrence of local time ``at`` at or before ``now``."""
    local_now = now.astimezone(cal.tz)
    for back in range(lookback_days + 1):
        day = local_now.date() - timedelta(days=back)
        if not cal.is_working_day(day):
            continue
        slot = local_slot(day, at, cal.tz)
        if _utc(slot) <= _utc(now):
            return slot
    return None


class SlotDecision(StrEnum):
    RUN = "run"
    MISSED = "missed"  # later than the grace window: log it, do not post stale "10:00" news at 14:00
    NOT_DUE = "not_due"


def decide(slot: datetime | None, now: datetime, grace: timedelta) -> SlotDecision:
    if slot is None or _utc(slot) > _utc(now):
        return SlotDecision.NOT_DUE
    return SlotDecision.RUN if _utc(now) - _utc(slot) <= grace else SlotDecision.MISSED


def _utc(moment: datetime) -> datetime:
    # Aware datetimes sharing a tzinfo compare and subtract as wall-clock times, ignoring DST folds:
    # 01:30 GMT minus 01:30 BST would be 0, not 1 hour. Always do time arithmetic in UTC.
    return moment.astimezone(UTC)
