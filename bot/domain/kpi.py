"""KPI aggregation and scorecards.

The store hands over per-day sums (numerator, denominator, sample count) per metric; everything here is a
ratio of those sums, so aggregating across agents and days never averages percentages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.domain.metrics import Aggregation, MetricDef, Rag, Target, rag
from bot.domain.periods import DateRange

SPARK_CHARS = "▁▂▃▄▅▆▇█"
SPARK_DAYS = 14


@dataclass(frozen=True, slots=True)
class DaySums:
    """Sums of one metric's samples for one subject (team or agent) on one local day."""

    metric_key: str
    day: date
    numerator: float
    denominator: float
    samples: int
    ratio_sum: float = 0.0  # sum of each sample's numerator/denominator, for MEAN metrics


@dataclass(frozen=True, slots=True)
class Sums:
    numerator: float = 0.0
    denominator: float = 0.0
    samples: int = 0
    ratio_sum: float = 0.0

    def __add__(self, other: Sums) -> Sums:
        return Sums(
            self.numerator + other.numerator,
            self.denominator + other.denominator,
            self.samples + other.samples,
            self.ratio_sum + other.ratio_sum,
        )


NO_SUMS = Sums()


def value_of(sums: Sums, metric: MetricDef) -> float | None:
    """The displayed value of summed samples, or None when there is nothing to show."""
    return value_from(metric, sums.numerator, sums.denominator, sums.samples, sums.ratio_sum)


def value_from(metric: MetricDef, numerator: float, denominator: float, samples: int, ratio_sum: float) -> float | None:
    """``value_of`` from the four sums as plain numbers (TeamDays keeps them in columns)."""
    if samples == 0:
        return None
    match metric.aggregation:
        case Aggregation.SUM:
            return numerator
        case Aggregation.RATIO:
            return None if denominator == 0 else numerator / denominator * metric.scale
        case Aggregation.MEAN:
            return ratio_sum / samples * metric.scale
    raise AssertionError(metric.aggregation)  # pragma: no cover


def index_days(rows: Iterable[DaySums]) -> dict[tuple[str, date], Sums]:
    """Sums keyed by (metric, day); several rows for one key (e.g. two sources) are added."""
    out: dict[tuple[str, date], Sums] = {}
    for r in rows:
        key = (r.metric_key, r.day)
        sums = Sums(r.numerator, r.denominator, r.samples, r.ratio_sum)
        seen = out.get(key)
        out[key] = sums if seen is None else seen + sums
    return out


def sum_days(index: Mapping[tuple[str, date], Sums], metric_key: str, days: DateRange) -> Sums:
    return _sum(index, metric_key, _dates(days))


def _dates(days: DateRange) -> list[date]:
    return [days.start + timedelta(days=i) for i in range(days.days)]


def _sum(index: Mapping[tuple[str, date], Sums], metric_key: str, dates: Iterable[date]) -> Sums:
    return total([index.get((metric_key, day)) for day in dates])


def total(days: Iterable[Sums | None]) -> Sums:
    """The sums of several days (None: a day without figures), added in the order given with the built-in
    ``sum``, as ``TeamDays`` adds its columns (where a day without figures adds zero), so the two agree."""
    present = [s for s in days if s is not None]
    return Sums(
        sum([s.numerator for s in present], 0.0),
        sum([s.denominator for s in present], 0.0),
        sum([s.samples for s in present]),
        sum([s.ratio_sum for s in present], 0.0),
    )


def sparkline(values: Sequence[float | None]) -> str:
    """Unicode sparkline; a day with no data is a thin dot so gaps stay visible."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    lo, hi = min(present), max(present)
    span, top = hi - lo, len(SPARK_CHARS) - 1
    if span == 0:
        return "".join("·" if v is None else SPARK_CHARS[len(SPARK_CHARS) // 2] for v in values)
    return "".join("·" if v is None else SPARK_CHARS[round((v - lo) / span * top)] for v in values)


@dataclass(frozen=True, slots=True)
class MetricLine:
    metric: MetricDef
    value: float | None
    target: Target | None
    status: Rag
    delta: float | None  # value minus the previous period's value (None: not comparable)
    spark: str
    has_previous: bool = True  # False: the previous period had no data at all


@dataclass(frozen=True, slots=True)
class Scorecard:
    title: str  # "Team Alpha" or "Thandi Nkosi"
    subtitle: str  # "today · Sun 22 Nov"
    lines: tuple[MetricLine, ...]
    team_size: int | None
    data_up_to: datetime | None  # local time of the newest sample in the period
    period_key: str
    notes: tuple[str, ...] = field(default=())

    @property
    def has_data(self) -> bool:
        return any(line.value is not None for line in self.lines)


def build_lines(
    metrics: Sequence[MetricDef],
    rows: Sequence[DaySums],
    targets: Mapping[str, Target],
    current: DateRange,
    previous: DateRange,
    *,
    partial_day: bool = False,
) -> tuple[MetricLine, ...]:
    """One line per metric that has data in the window or a target, in catalogue order.

    ``partial_day``: the current period is a single day still in progress, so a count (a SUM metric) would
    be compared with a whole day; its change is left out rather than shown as a misleading drop.
    """
    return lines_from_index(metrics, index_days(rows), targets, current, previous, partial_day=partial_day)


def lines_from_index(
    metrics: Sequence[MetricDef],
    index: Mapping[tuple[str, date], Sums],
    targets: Mapping[str, Target],
    current: DateRange,
    previous: DateRange,
    *,
    partial_day: bool = False,
) -> tuple[MetricLine, ...]:
    """``build_lines`` from sums already keyed by (metric, day)."""
    spark_days = spark_days_of(current)
    current_days, previous_days = _dates(current), _dates(previous)
    with_data = {key for key, _ in index}
    return tuple(
        metric_line(
            m,
            _sum(index, m.key, current_days),
            _sum(index, m.key, previous_days),
            [value_of(index.get((m.key, d), NO_SUMS), m) for d in spark_days],
            targets.get(m.key),
            partial_day=partial_day,
        )
        for m in in_catalogue_order(metrics)
        if m.key in with_data or m.key in targets
    )


def in_catalogue_order(metrics: Iterable[MetricDef]) -> list[MetricDef]:
    return sorted(metrics, key=lambda m: (m.position, m.key))


def spark_days_of(current: DateRange) -> list[date]:
    """The sparkline's days: the fourteen ending with the period's last day."""
    return [current.end - timedelta(days=i) for i in range(SPARK_DAYS - 1, -1, -1)]


def metric_line(
    m: MetricDef, now: Sums, before: Sums, daily: Sequence[float | None], target: Target | None, *, partial_day: bool
) -> MetricLine:
    """One scorecard line from the period's sums, the previous period's and the sparkline's daily values."""
    value, prev = value_of(now, m), value_of(before, m)
    return MetricLine(
        metric=m,
        value=value,
        target=target,
        status=rag(value, target, higher_is_better=m.higher_is_better),
        delta=None
        if value is None or prev is None or (partial_day and m.aggregation is Aggregation.SUM)
        else value - prev,
        spark=sparkline(daily),
        has_previous=prev is not None,
    )


def window_for(current: DateRange, previous: DateRange) -> DateRange:
    """Every local day a scorecard needs: the previous period, the current one and the sparkline."""
    spark_start = current.end - timedelta(days=SPARK_DAYS - 1)
    return DateRange(min(previous.start, spark_start, current.start), current.end)


def staleness_note(data_up_to: datetime | None, now: datetime, max_age: timedelta) -> str | None:
    """A warning when the newest figure is older than ``max_age``: a scorecard must not pass off old data."""
    if data_up_to is None or now - data_up_to <= max_age:
        return None
    age = now - data_up_to
    hours, minutes = divmod(int(age.total_seconds()) // 60, 60)
    ago = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return f"⚠️ Stale data: the newest figure is {ago} old — check the KPI feed."
