"""`/huddle report` maths, pure: attendance rate per agent, blockers, mood trend over a range of local dates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.errors import UsageError
from bot.domain.huddle import ANONYMOUS_MIN, Tally
from bot.domain.kpi import sparkline
from bot.domain.periods import DateRange

MAX_REPORT_DAYS = 92
_TEAM_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ReportQuery:
    team_key: str | None
    days: int | None = 7  # the last N days up to today, or an explicit range
    first: date | None = None
    last: date | None = None

    def range(self, today: date) -> DateRange:
        if self.first is not None and self.last is not None:
            return DateRange(self.first, self.last)
        return DateRange(today - timedelta(days=(self.days or 7) - 1), today)


def _date(token: str, usage: str) -> date:
    try:
        return date.fromisoformat(token)
    except ValueError:
        raise UsageError(f"`{token}` is not a date; use YYYY-MM-DD.\n\n{usage}") from None


def parse_report_args(tokens: Sequence[str], usage: str) -> ReportQuery:
    """``[team] [7d|30d|FROM TO]``."""
    rest = list(tokens)
    team_key = None
    if rest and rest[0].lower() not in ("7d", "30d") and not rest[0][:1].isdigit():
        team_key = rest.pop(0).lower()
        if not _TEAM_KEY.match(team_key):
            raise UsageError(f"`{team_key}` is not a team key.\n\n{usage}")
    if not rest:
        return ReportQuery(team_key)
    if len(rest) == 1 and rest[0].lower() in ("7d", "30d"):
        return ReportQuery(team_key, days=int(rest[0][:-1]))
    if len(rest) == 2:
        first, last = _date(rest[0], usage), _date(rest[1], usage)
        if last < first:
            raise UsageError(f"The range ends before it starts ({first} → {last}).")
        if (last - first).days + 1 > MAX_REPORT_DAYS:
            raise UsageError(f"Ask for at most {MAX_REPORT_DAYS} days at a time.")
        return ReportQuery(team_key, days=None, first=first, last=last)
    raise UsageError(f"I don't understand `{' '.join(rest)}`.\n\n{usage}")


@dataclass(frozen=True, slots=True)
class HuddleRecord:
    """One closed huddle, as the report needs it."""

    day: date
    tally: Tally
    moods: dict[int, int] = field(default_factory=dict)  # member id → mood
    blockers: dict[int, int] = field(default_factory=dict)  # member id → 1 if they raised a blocker


@dataclass(frozen=True, slots=True)
class AgentLine:
    member_id: int
    expected: int  # huddles they were expected at
    attended: int  # of those, how many they checked in to
    late: int
    blockers: int

    @property
    def rate(self) -> float | None:
        """Attendance 0..1; None when they were never expected."""
        return self.attended / self.expected if self.expected else None


@dataclass(frozen=True, slots=True)
class Report:
    huddles: int
    agents: tuple[AgentLine, ...]
    blockers: int
    mood_by_day: tuple[tuple[date, float | None], ...]
    mood_average: float | None
    mood_change: float | None  # second half's average minus the first half's
    team_rate: float | None
    mood_answers: int = 0
    anonymous: bool = False  # the team's mood is anonymous: figures from fewer than ANONYMOUS_MIN answers are None

    @property
    def spark(self) -> str:
        return sparkline([v for _, v in self.mood_by_day])


def _mean(values: Iterable[int], *, anonymous: bool = False) -> float | None:
    """The average, or None without values — or, for an anonymous team, from so few that it names someone."""
    vals = list(values)
    if not vals or (anonymous and len(vals) < ANONYMOUS_MIN):
        return None
    return sum(vals) / len(vals)


def build_report(
    records: Sequence[HuddleRecord], roster: Iterable[int], days: DateRange, *, anonymous: bool = False
) -> Report:
    ids = set(roster) | {m for r in records for m in r.tally.expected | r.tally.present}
    lines = []
    for m in ids:
        expected = sum(1 for r in records if m in r.tally.expected)
        attended = sum(1 for r in records if m in r.tally.expected and m in r.tally.present)
        late = sum(1 for r in records if m in r.tally.late)
        blockers = sum(r.blockers.get(m, 0) for r in records)
        lines.append(AgentLine(m, expected, attended, late, blockers))
    by_day: dict[date, list[int]] = {}
    for r in records:
        by_day.setdefault(r.day, []).extend(r.moods.values())
    trend = tuple(
        (d, _mean(by_day.get(d, ()), anonymous=anonymous))
        for d in (days.start + timedelta(days=i) for i in range(days.days))
    )
    all_moods = [m for r in records for m in r.moods.values()]
    half = days.start + timedelta(days=days.days // 2)
    first = _mean((m for r in records if r.day < half for m in r.moods.values()), anonymous=anonymous)
    second = _mean((m for r in records if r.day >= half for m in r.moods.values()), anonymous=anonymous)
    expected_total = sum(line.expected for line in lines)
    return Report(
        huddles=len(records),
        agents=tuple(sorted(lines, key=lambda a: (a.rate is None, a.rate if a.rate is not None else 0.0, a.member_id))),
        blockers=sum(sum(r.blockers.values()) for r in records),
        mood_by_day=trend,
        mood_average=_mean(all_moods, anonymous=anonymous),
        mood_change=None if first is None or second is None else second - first,
        team_rate=sum(line.attended for line in lines) / expected_total if expected_total else None,
        mood_answers=len(all_moods),
        anonymous=anonymous,
    )
