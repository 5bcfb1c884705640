"""Huddle rules, pure: who is expected, the digest's tally and mood figures (lateness: huddle_settings.late_time).

Times are aware UTC datetimes; member ids are Rhythm's ``member.id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

MOODS = (1, 2, 3, 4, 5)
MOOD_EMOJI = {1: "😣", 2: "🙁", 3: "😐", 4: "🙂", 5: "😄"}
ANONYMOUS_MIN = 3  # an anonymous team's mood figures stay hidden below this many answers (an average of one is a name)
OFF_SHIFT = frozenset({"offline", "off", "leave", "holiday"})  # schedule activities that mean "not working"

Segment = tuple[datetime, datetime, str]  # start, end, activity


def on_shift(segments: Iterable[Segment], start: datetime, end: datetime) -> bool:
    """True when a working (not offline) segment overlaps [start, end)."""
    return any(s < end and e > start and activity.lower() not in OFF_SHIFT for s, e, activity in segments)


def expected_agents(
    roster: Iterable[int],
    on_leave: Iterable[int],
    schedules: Mapping[int, Sequence[Segment]] | None,
    start: datetime,
    end: datetime,
    *,
    whole_roster: bool = True,
) -> frozenset[int]:
    """Who should check in: those on shift during the huddle when the team has schedules that day, else the
    roster — or nobody, when ``whole_roster`` is False (a second shift without schedules: nothing says who
    works it, so only those who check in count, and nobody is reminded twice a day or counted absent from a
    shift they never work). Never anyone on leave. ``schedules`` is None when no agent of the team has a
    schedule that day."""
    away = set(on_leave)
    people = [m for m in roster if m not in away]
    if schedules is None:
        return frozenset(people) if whole_roster else frozenset()
    return frozenset(m for m in people if on_shift(schedules.get(m, ()), start, end))


@dataclass(frozen=True, slots=True)
class Tally:
    """Attendance of one huddle, as member ids."""

    expected: frozenset[int]
    present: frozenset[int]
    late: frozenset[int]
    absent: frozenset[int]
    on_leave: frozenset[int]

    def as_json(self) -> dict[str, list[int]]:
        return {
            "expected": sorted(self.expected),
            "present": sorted(self.present),
            "late": sorted(self.late),
            "absent": sorted(self.absent),
            "on_leave": sorted(self.on_leave),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Iterable[int]]) -> Tally:
        def ids(key: str) -> frozenset[int]:
            return frozenset(int(i) for i in data.get(key, ()))

        return cls(ids("expected"), ids("present"), ids("late"), ids("absent"), ids("on_leave"))


def tally(
    roster: Iterable[int], expected: Iterable[int], checked_in: Mapping[int, bool], on_leave: Iterable[int]
) -> Tally:
    """``checked_in``: member id → late. Whoever checked in is present (even off shift or on leave)."""
    present = frozenset(checked_in)
    wanted = frozenset(expected)
    team = frozenset(roster)
    return Tally(
        expected=wanted,
        present=present,
        late=frozenset(m for m, late in checked_in.items() if late),
        absent=wanted - present,
        on_leave=(frozenset(on_leave) & team) - present,
    )


@dataclass(frozen=True, slots=True)
class MoodStats:
    count: int
    average: float | None
    distribution: dict[int, int]  # mood 1..5 → how many


def mood_stats(moods: Iterable[int | None]) -> MoodStats:
    given = [m for m in moods if m in MOODS]
    dist = dict.fromkeys(MOODS, 0)
    for m in given:
        dist[m] += 1
    return MoodStats(len(given), sum(given) / len(given) if given else None, dist)


def mood_hidden(stats: MoodStats, *, anonymous: bool) -> bool:
    """An anonymous team's figures are withheld when so few answered that they would point at someone."""
    return anonymous and 0 < stats.count < ANONYMOUS_MIN
