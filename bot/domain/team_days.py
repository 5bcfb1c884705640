"""A team's daily KPI sums over a window wide enough for every period, cut into scorecard lines without another
read: /kpi reads a team's days once and serves today, 7d, 30d and mtd from them.

Sums are held per metric as a list indexed by day, so a period's total is a slice, not a dictionary probe per
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
    total,
    window_for,
)
from bot.domain.metrics import MetricDef, Target
from bot.domain.periods import DateRange

Series = list[Sums | None]  # one entry per day from TeamDays.first
# metric, day, team_level, numerator, denominator, samples, ratio_sum, end of a figure in it (or None)
DayRow = tuple[str, date, bool, float, float, int, float, datetime | None]


@dataclass(frozen=True, slots=True)
class TeamDays:
    first: date  # the day at index 0
    agent: dict[str, Series]  # metric key -> agents' sums per day
    team: dict[str, Series]  # metric key -> team-level figures per day
    last_end: list[datetime | None]  # the newest figure's end, per day

    @classmethod
    def of(cls, days: DateRange, rows: Iterable[DayRow], ends: Iterable[tuple[date, datetime]] = ()) -> TeamDays:
        """From (metric, day, team_level, numerator, denominator, samples, ratio_sum, end) rows, where ``end`` is
        the end of a figure counted in that row (None: not given), and more (day, end) pairs; each day keeps its
        newest end. Days outside ``days`` are dropped."""
        n = days.days
        out = cls(days.start, {}, {}, [None] * n)
        last_end = out.last_end
        for key, day, team_level, numerator, denominator, samples, ratio_sum, end in rows:
            i = (day - days.start).days
            if 0 <= i < n:
                by_metric = out.team if team_level else out.agent
                series = by_metric.get(key) or by_metric.setdefault(key, [None] * n)
                series[i] = Sums(numerator, denominator, samples, ratio_sum)
                if end is not None and ((seen := last_end[i]) is None or end > seen):
                    last_end[i] = end
        for day, end in ends:
            i = (day - days.start).days
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
            series = next((s for s in (self.agent.get(m.key), self.team.get(m.key)) if s and any(s[window])), None)
            if series is None and m.key not in targets:
                continue
            if series is None:
                lines.append(metric_line(m, NO_SUMS, NO_SUMS, [], targets.get(m.key), partial_day=partial_day))
                continue
            daily = [NO_SUMS if i is None else series[i] or NO_SUMS for i in spark]
            in_period, earlier = total(series[now]), total(series[before])
            lines.append(metric_line(m, in_period, earlier, daily, targets.get(m.key), partial_day=partial_day))
        return tuple(lines), max((e for e in self.last_end[now] if e is not None), default=None)

    def _at(self, day: date) -> int | None:
        i = (day - self.first).days
        return i if 0 <= i < len(self.last_end) else None

    def _slice(self, days: DateRange) -> slice:
        n = len(self.last_end)
        start = min(max((days.start - self.first).days, 0), n)
        return slice(start, min(max((days.end - self.first).days + 1, start), n))
