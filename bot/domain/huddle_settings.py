"""A team's huddle settings (org.yml ``huddle:``), parsed and checked; and the slots they give on a day.

Keys, all optional::

    huddle:
      close_after_minutes: 30          # check-ins close this long after the prompt (5..480)
      close_at: "09:45"                # or at this local time (main huddle only; after huddle_time)
      remind_before_close_minutes: 10  # one DM to expected agents who have not checked in; 0 = no reminder
      late_after_minutes: 15           # a check-in later than this after the prompt is marked late
      second_shift: "14:00"            # a second daily huddle for the later shift (closes after close_after)
                                       # who is expected at it comes from schedules; without schedules nobody
                                       # is (no reminders, no absentees): only those who check in count
      anonymous_mood: false            # true: the digest shows mood figures only, never who felt what

The huddle's own start is the team's ``huddle_time`` (HH:MM, team time zone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.schedule import local_slot

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
KEYS = (
    "close_after_minutes",
    "close_at",
    "remind_before_close_minutes",
    "late_after_minutes",
    "second_shift",
    "anonymous_mood",
)
MAIN, SECOND = 1, 2  # huddle sequence numbers of the scheduled shifts; ad-hoc huddles take 3, 4, …


@dataclass(frozen=True, slots=True)
class HuddleSettings:
    close_after_minutes: int = 30
    close_at: time | None = None
    remind_before_close_minutes: int = 10
    late_after_minutes: int = 15
    second_shift: time | None = None
    anonymous_mood: bool = False


@dataclass(frozen=True, slots=True)
class HuddleSlot:
    """One scheduled huddle: when its prompt posts and when check-ins close (aware UTC)."""

    seq: int
    starts: datetime
    closes: datetime


def _hhmm(key: str, value: Any) -> time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError(f"huddle.{key}: {value!r} is not a 24-hour HH:MM time")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _minutes(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"huddle.{key}: must be a whole number of minutes from {low} to {high}, not {value!r}")
    return value


def _span(start: time, end: time) -> int:
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def parse_huddle_settings(raw: Mapping[str, Any] | None, huddle_time: str | None = None) -> HuddleSettings:
    """The settings in ``raw`` (org.yml), or ValueError naming the bad key. ``huddle_time`` enables the checks
    that relate the settings to the huddle's start."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ValueError(f"huddle: unknown setting(s) {unknown}; known: {', '.join(KEYS)}")
    if "close_at" in raw and "close_after_minutes" in raw:
        raise ValueError("huddle: give close_at or close_after_minutes, not both")
    defaults = HuddleSettings()
    close_after = _minutes("close_after_minutes", raw.get("close_after_minutes", defaults.close_after_minutes), 5, 480)
    close_at = _hhmm("close_at", raw["close_at"]) if "close_at" in raw else None
    second = _hhmm("second_shift", raw["second_shift"]) if "second_shift" in raw else None
    anonymous = raw.get("anonymous_mood", False)
    if not isinstance(anonymous, bool):
        raise ValueError(f"huddle.anonymous_mood: must be true or false, not {anonymous!r}")
    start = _hhmm("huddle_time", huddle_time) if huddle_time is not None else None
    windows = [close_after]
    if start is not None and close_at is not None:
        span = _span(start, close_at)
        if span < 5:
            raise ValueError(f"huddle.close_at: {close_at:%H:%M} must be at least 5 minutes after {huddle_time}")
        windows = [span]
    if start is not None and second is not None and _span(start, second) <= 0:
        raise ValueError(f"huddle.second_shift: {second:%H:%M} must be later than huddle_time {huddle_time}")
    if second is not None:
        windows.append(close_after)
    shortest = min(windows)
    remind = _minutes(
        "remind_before_close_minutes",
        raw.get("remind_before_close_minutes", min(defaults.remind_before_close_minutes, shortest - 1)),
        0,
        shortest - 1,
    )
    late = _minutes(
        "late_after_minutes", raw.get("late_after_minutes", min(defaults.late_after_minutes, shortest)), 1, 480
    )
    return HuddleSettings(close_after, close_at, remind, late, second, anonymous)


def day_slots(day: date, huddle_time: str, settings: HuddleSettings, tz: ZoneInfo) -> list[HuddleSlot]:
    """The scheduled huddles on local ``day``: the main one and, if set, the second shift's."""
    start = local_slot(day, _hhmm("huddle_time", huddle_time), tz).astimezone(UTC)
    if settings.close_at is not None:
        closes = local_slot(day, settings.close_at, tz).astimezone(UTC)
    else:
        closes = start + timedelta(minutes=settings.close_after_minutes)
    slots = [HuddleSlot(MAIN, start, closes)]
    if settings.second_shift is not None:
        second = local_slot(day, settings.second_shift, tz).astimezone(UTC)
        slots.append(HuddleSlot(SECOND, second, second + timedelta(minutes=settings.close_after_minutes)))
    return slots


def remind_time(closes: datetime, settings: HuddleSettings) -> datetime | None:
    if settings.remind_before_close_minutes <= 0:
        return None
    return closes - timedelta(minutes=settings.remind_before_close_minutes)


def late_time(posted: datetime, closes: datetime, settings: HuddleSettings) -> datetime:
    """From when a check-in counts as late (never after the close)."""
    return min(posted.astimezone(UTC) + timedelta(minutes=settings.late_after_minutes), closes)


def adhoc_close(now: datetime, settings: HuddleSettings) -> datetime:
    return now.astimezone(UTC) + timedelta(minutes=settings.close_after_minutes)
