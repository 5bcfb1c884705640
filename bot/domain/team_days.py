"""A team's daily KPI sums over a window wide enough for every period, cut into scorecard lines without another
read: /kpi reads a team's days once and serves today, 7d, 30d and mtd from them.

Sums are held per metric in columns indexed by day, so a period's total is a slice, not a dictionary probe per
(metric, day). The arithmetic is ``lines_from_index``'s (a property test holds the two equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.kpi import (
    NO_SUMS,
    MetricLine,
    Sums,
    in_catalogue_order,
    metric_line,
    spark_days_of,
    value_from,
    window_for,
)
from bot.domain.metrics import MetricDef, Target
from bot.domain.periods import DateRange

# metric, day, team_level, numerator, denominator, samples, ratio_sum, end of a figure in it (or None)
DayRow = tuple[str, date, bool, float, float, int, float, datetime | None]
# the same with the day as its offset from the first day read
IndexedRow = tuple[str, int, bool, float, float, int, float, datetime | None]


@dataclass(frozen=True, slots=True)
class Columns:
    """One metric's sums at one level: a column per field, a slot per day from ``TeamDays.first``, zero (and no
    samples) on a day without figures.

    Columns of plain numbers rather than an object per day: the garbage collector tracks ~70 objects for a cached
    team instead of ~1,000. Under a burst of cold teams those objects had young collections running several
    times a second and a 30-40 ms older-generation collection stalling every request in flight
    (bench/kpi_latency.py).
    """

    numerator: list[float]
    denominator: list[float]
    samples: list[int]  # a stored day holds at least one sample
    ratio_sum: list[float]

    @classmethod
    def empty(cls, days: int) -> Columns:
        return cls([0.0] * days, [0.0] * days, [0] * days, [0.0] * days)

    def values(self, days: Iterable[int | None], metric: MetricDef) -> list[float | None]:
        """The metric's value on each day (None: a day outside the days read, or without figures)."""
        n, d, c, r = self.numerator, self.denominator, self.samples, self.ratio_sum
        return [None if i is None else value_from(metric, n[i], d[i], c[i], r[i]) for i in days]

    def any(self, days: slice) -> bool:
        return any(self.samples[days])

    def total(self, days: slice) -> Sums:
        """``kpi.total`` of these days: added in day order (an empty day adds zero)."""
        return Sums(
            sum(self.numerator[days], 0.0),
            sum(self.denominator[days], 0.0),
            sum(self.samples[days]),
            sum(self.ratio_sum[days], 0.0),
        )


@dataclass(frozen=True, slots=True)
class TeamDays:
    first: date  # the day at index 0
    agent: dict[str, Columns]  # metric key -> agents' sums per day
    team: dict[str, Columns]  # metric key -> team-level figures per day
    last_end: list[datetime | None]  # the newest figure's end, per day

    @classmethod
    def of(cls, days: DateRange, rows: Iterable[DayRow], ends: Iterable[tuple[date, datetime]] = ()) -> TeamDays:
        """From (metric, day, team_level, numerator, denominator, samples, ratio_sum, end) rows, where ``end`` is
        the end of a figure counted in that row (None: not given), and more (day, end) pairs; each day keeps its
        newest end. Days outside ``days`` are dropped."""
        first = days.start
        return cls.indexed(
            days,
            ((k, (day - first).days, lvl, n, d, c, r, e) for k, day, lvl, n, d, c, r, e in rows),
            (((day - first).days, end) for day, end in ends),
        )

    @classmethod
    def indexed(
        cls, days: DateRange, rows: Iterable[IndexedRow], ends: Iterable[tuple[int, datetime]] = ()
    ) -> TeamDays:
        """``of`` with each day given as its offset from ``days.start`` (a read that computes it in SQL skips
        converting hundreds of dates; this loop is most of a cold ``/kpi``'s CPU)."""
        n = days.days
        out = cls(days.start, {}, {}, [None] * n)
        agent, team, last_end = out.agent, out.team, out.last_end
        for key, i, team_level, numerator, denominator, samples, ratio_sum, end in rows:
            if 0 <= i < n:
                by_metric = team if team_level else agent
                columns = by_metric.get(key) or by_metric.setdefault(key, Columns.empty(n))
                columns.numerator[i], columns.denominator[i] = numerator, denominator
                columns.samples[i], columns.ratio_sum[i] = samples, ratio_sum
                if end is not None and ((seen := last_end[i]) is None or end > seen):
                    last_end[i] = end
        for i, end in ends:
            if 0 <= i < n and ((seen := last_end[i]) is None or end > seen):
                last_end[i] = end
        return out

    def lines(
        self,
        metrics: Sequence[MetricDef],
        targets: Mapping[str, Target],
        current: DateRange,
        previous: DateRange,
        *,
        partial_day: bool = False,
    ) -> tuple[tuple[MetricLine, ...], datetime | None]:
        """The scorecard lines for ``current`` against ``previous``, and the end of the newest figure in ``current``.

        Per metric, team-level figures count only when no agent figure falls in the scorecard's window, since
        both count the same work.
        """
        window, now, before = self._slice(window_for(current, previous)), self._slice(current), self._slice(previous)
        spark = [self._at(d) for d in spark_days_of(current)]
        lines = []
        for m in in_catalogue_order(metrics):
            sums = next((c for c in (self.agent.get(m.key), self.team.get(m.key)) if c and c.any(window)), None)
            if sums is None and m.key not in targets:
                continue
            if sums is None:
                lines.append(metric_line(m, NO_SUMS, NO_SUMS, [], targets.get(m.key), partial_day=partial_day))
                continue
            daily = sums.values(spark, m)
            in_period, earlier = sums.total(now), sums.total(before)
            lines.append(metric_line(m, in_period, earlier, daily, targets.get(m.key), partial_day=partial_day))
        return tuple(lines), max((e for e in self.last_end[now] if e is not None), default=None)

    def _at(self, day: date) -> int | None:
        i = (day - self.first).days
        return i if 0 <= i < len(self.last_end) else None

    def _slice(self, days: DateRange) -> slice:
        n = len(self.last_end)
        start = min(max((days.start - self.first).days, 0), n)
        return slice(start, min(max((days.end - self.first).days + 1, start), n))
