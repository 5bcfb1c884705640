"""TeamDays: one read of a team's days serves every period's scorecard, with the same arithmetic as build_lines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.kpi import DaySums, Sums, index_days, lines_from_index, window_for
from bot.domain.metrics import Aggregation, MetricDef, Rag, Target, Unit
from bot.domain.periods import DateRange
from bot.domain.team_days import DayRow, TeamDays

QA = MetricDef("qa", "QA score", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 10)
CSAT = MetricDef("csat", "CSAT", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 40)
ITEMS = MetricDef("items", "Items handled", Unit.COUNT, True, Aggregation.SUM, 1.0, 95)
SCORE = MetricDef("score", "Survey score", Unit.SCORE, True, Aggregation.MEAN, 1.0, 99)
METRICS = [QA, CSAT, ITEMS, SCORE]

D16, D17, D18 = date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18)
LOADED = DateRange(D16 - timedelta(days=20), D18)  # what the store read


def _end(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def _days() -> TeamDays:
    rows: list[DayRow] = [
        ("csat", D17, False, 9.0, 10.0, 2, 0.0, _end(D17)),
        ("csat", D16, False, 1.0, 2.0, 1, 0.0, None),
        ("csat", D18, True, 50.0, 100.0, 1, 0.0, _end(D18) - timedelta(hours=1)),  # the agents' work, counted again
        ("qa", D18, True, 3.0, 4.0, 1, 0.0, _end(D18)),  # team-level only; the day's newest figure
        ("qa", D16, True, 1.0, 1.0, 1, 0.0, _end(D16)),
        ("items", date(2025, 1, 1), False, 7.0, 0.0, 1, 0.0, _end(D16)),  # outside what was read: dropped
    ]
    return TeamDays.of(LOADED, rows)


def test_agent_figures_win_over_team_figures_per_metric_within_the_window() -> None:
    lines, up_to = _days().lines(METRICS, {}, DateRange(D18, D18), DateRange(D17, D17))
    by_key = {line.metric.key: line for line in lines}
    assert list(by_key) == ["qa", "csat"]  # no data, no target: items and score are left out
    # csat has agent figures in the window (D17), so the team's 50/100 on D18 would count the work twice
    assert by_key["csat"].value is None
    assert by_key["csat"].delta is None and by_key["csat"].has_previous is True
    assert by_key["qa"].value == 75.0 and by_key["qa"].has_previous is False
    assert up_to == _end(D18)


def test_a_window_without_agent_figures_uses_the_team_figures() -> None:
    early = LOADED.start
    rows: list[DayRow] = [
        ("csat", early, False, 3.0, 4.0, 1, 0.0, None),
        ("csat", D18, True, 50.0, 100.0, 1, 0.0, None),
    ]
    days = TeamDays.of(LOADED, rows)
    (csat,), _ = days.lines([CSAT], {}, DateRange(D18, D18), DateRange(D17, D17))
    assert csat.value == 50.0  # the window (D18's sparkline reaches back to 5 Nov) holds no agent figure
    (csat,), _ = days.lines([CSAT], {}, DateRange(early, D18), DateRange(early, early))
    assert csat.value == 75.0  # now the agents' 3/4 is in the window and the team's 50/100 would double count
    assert csat.has_previous


def test_a_metric_with_a_target_but_no_figures_has_an_empty_line() -> None:
    target = Target(85, 80)
    (items,), _ = _days().lines([ITEMS], {"items": target}, DateRange(D18, D18), DateRange(D17, D17))
    assert (items.value, items.target, items.status, items.spark, items.has_previous) == (
        None,
        target,
        Rag.NONE,
        "",
        False,
    )


def test_periods_beyond_what_was_read_have_no_figures() -> None:
    later = DateRange(D18 + timedelta(days=30), D18 + timedelta(days=31))
    lines, up_to = _days().lines(METRICS, {}, later, DateRange(D18 + timedelta(days=28), D18 + timedelta(days=29)))
    assert (lines, up_to) == ((), None)


# ---- property: the same lines as the dictionary path for any figures and periods --------------------------------

Row = tuple[str, date, bool, float, float, int, float]
SPAN = 40
FIRST = date(2026, 10, 1)
number = st.floats(0, 500, allow_nan=False).map(lambda x: round(x, 2))
row = st.tuples(
    st.sampled_from([m.key for m in METRICS]),
    st.integers(0, SPAN - 1).map(lambda i: FIRST + timedelta(days=i)),
    st.booleans(),
    number,
    number,
    st.integers(1, 30),
    number,
)
period = st.tuples(st.integers(0, SPAN + 5), st.integers(0, 20)).map(
    lambda p: DateRange(FIRST + timedelta(days=p[0]), FIRST + timedelta(days=p[0] + p[1]))
)


def _row_end(r: Row) -> datetime:
    return _end(r[1]) - timedelta(minutes=r[5])  # varies with the row, so the newest matters


def _reference(rows: list[Row], window: DateRange) -> dict[tuple[str, date], Sums]:
    """The rule written plainly: agents' sums in the window; a metric's team figures where it has none there."""
    inside = [r for r in rows if window.start <= r[1] <= window.end]
    covered = {r[0] for r in inside if not r[2]}
    kept = [r for r in inside if not r[2] or r[0] not in covered]
    return index_days(DaySums(k, d, n, den, c, rs) for k, d, _, n, den, c, rs in kept)


@settings(max_examples=300, deadline=None)
@given(st.lists(row, max_size=60, unique_by=lambda r: (r[0], r[1], r[2])), period, st.integers(1, 20))
def test_lines_equal_the_dictionary_path(rows: list[Row], current: DateRange, back: int) -> None:
    previous = DateRange(current.start - timedelta(days=back), current.start - timedelta(days=1))
    window = window_for(current, previous)
    loaded = DateRange(min(window.start, FIRST), max(window.end, FIRST + timedelta(days=SPAN - 1)))
    targets = {"qa": Target(90, 80)}
    ends: dict[date, datetime] = {}  # each day's newest figure, whichever row carries it
    for r in rows:
        ends[r[1]] = max(ends.get(r[1], _row_end(r)), _row_end(r))
    got, up_to = TeamDays.of(loaded, [(*r, _row_end(r)) for r in rows]).lines(
        METRICS, targets, current, previous, partial_day=True
    )
    expected = lines_from_index(METRICS, _reference(rows, window), targets, current, previous, partial_day=True)
    assert got == expected
    assert up_to == max((e for d, e in ends.items() if current.start <= d <= current.end), default=None)
