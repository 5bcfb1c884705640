"""KPI aggregation: ratios of sums (never means of percentages), sparklines and scorecard lines."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.domain.kpi import (
    DaySums,
    MetricLine,
    Scorecard,
    Sums,
    build_lines,
    index_days,
    sparkline,
    staleness_note,
    sum_days,
    value_of,
    window_for,
)
from bot.domain.metrics import Aggregation, MetricDef, Rag, Target, Unit
from bot.domain.periods import DateRange

QA = MetricDef("qa", "QA score", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 10)
ACCURACY = MetricDef("accuracy", "Accuracy", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 20)
CSAT = MetricDef("csat", "CSAT", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 40)
AHT = MetricDef("aht", "Handle time", Unit.SECONDS, False, Aggregation.RATIO, 1.0, 90)
ITEMS = MetricDef("items", "Items handled", Unit.COUNT, True, Aggregation.SUM, 1.0, 95)
SCORE = MetricDef("score", "Survey score", Unit.SCORE, True, Aggregation.MEAN, 1.0, 99)

D17, D18 = date(2026, 11, 17), date(2026, 11, 18)
TODAY, YESTERDAY = DateRange(D18, D18), DateRange(D17, D17)


def test_ratio_metric_over_agents_and_days_is_a_ratio_of_sums() -> None:
    rows = [
        DaySums("csat", D17, 18, 20, 20),  # agent A: 90%
        DaySums("csat", D17, 1, 4, 4),  # agent B: 25%
        DaySums("csat", D18, 40, 50, 50),  # agent A: 80%
        DaySums("csat", D18, 3, 6, 6),  # agent B: 50%
    ]
    total = sum_days(index_days(rows), "csat", DateRange(D17, D18))
    assert total == Sums(62, 80, 80)
    # (18+1+40+3) / (20+4+50+6) = 62/80 = 77.5%; the mean of the four percentages would be 61.25%.
    assert value_of(total, CSAT) == pytest.approx(77.5)
    assert value_of(total, CSAT) != pytest.approx((90 + 25 + 80 + 50) / 4)


def test_sum_metric_adds_numerators() -> None:
    rows = [DaySums("items", D17, 30, 0, 1), DaySums("items", D18, 45, 0, 1)]
    total = sum_days(index_days(rows), "items", DateRange(D17, D18))
    assert value_of(total, ITEMS) == 75


def test_mean_metric_averages_each_samples_ratio() -> None:
    # Three samples: 1/1, 1/2 and 9/10 -> ratio_sum 2.4; a ratio of sums would give 11/13.
    sums = Sums(numerator=11, denominator=13, samples=3, ratio_sum=2.4)
    assert value_of(sums, SCORE) == pytest.approx(0.8)


def test_mean_metric_applies_the_scale() -> None:
    scaled = MetricDef("pct", "Pct", Unit.PERCENT, True, Aggregation.MEAN, 100.0)
    assert value_of(Sums(0, 0, 4, 3.0), scaled) == pytest.approx(75.0)


@pytest.mark.parametrize("metric", [CSAT, ITEMS, SCORE])
def test_value_of_no_samples_is_none(metric: MetricDef) -> None:
    assert value_of(Sums(numerator=5, denominator=10, samples=0), metric) is None


def test_value_of_ratio_with_zero_denominator_is_none() -> None:
    assert value_of(Sums(numerator=3, denominator=0, samples=2), CSAT) is None


def test_value_of_ratio_applies_the_scale() -> None:
    assert value_of(Sums(4050, 10, 10), AHT) == 405.0
    assert value_of(Sums(9, 10, 10), QA) == pytest.approx(90.0)


def test_index_days_adds_rows_for_the_same_metric_and_day() -> None:
    rows = [
        DaySums("csat", D18, 8, 10, 10, 0.5),
        DaySums("csat", D18, 2, 5, 5, 0.25),
        DaySums("csat", D17, 1, 1, 1),
        DaySums("aht", D18, 300, 1, 1),
    ]
    index = index_days(rows)
    assert index == {
        ("csat", D18): Sums(10, 15, 15, 0.75),
        ("csat", D17): Sums(1, 1, 1, 0.0),
        ("aht", D18): Sums(300, 1, 1, 0.0),
    }


def test_sum_days_treats_missing_days_as_zero() -> None:
    index = index_days([DaySums("items", D17, 7, 0, 1)])
    assert sum_days(index, "items", DateRange(date(2026, 11, 10), D18)) == Sums(7, 0, 1)
    assert sum_days(index, "items", TODAY) == Sums()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], ""),
        ([None, None], ""),
        ([3.0, 3.0, 3.0], "▅▅▅"),  # a flat series sits mid-height
        ([10.0, 20.0], "▁█"),
        ([1.0, None, 3.0, 2.0], "▁·█▅"),  # a missing day is a dot
        ([0, 1, 2, 3, 4, 5, 6, 7], "▁▂▃▄▅▆▇█"),
        ([None, 5.0, None], "·▅·"),
    ],
)
def test_sparkline(values: list[float | None], expected: str) -> None:
    assert sparkline(values) == expected


METRICS = [ITEMS, AHT, ACCURACY, CSAT, QA]  # deliberately out of order
TARGETS = {"qa": Target(90, 85), "csat": Target(85, 80), "aht": Target(420, 480)}
ROWS = [
    DaySums("csat", D17, 16, 20, 20),  # 80%
    DaySums("csat", D18, 18, 20, 20),  # 90%
    DaySums("aht", D17, 4200, 10, 10),  # 420 s
    DaySums("aht", D18, 4050, 10, 10),  # 405 s
    DaySums("items", D17, 50, 0, 1),
    DaySums("items", D18, 30, 0, 1),
]


def _by_key(lines: tuple[MetricLine, ...]) -> dict[str, MetricLine]:
    return {line.metric.key: line for line in lines}


def test_build_lines_orders_by_position_and_omits_metrics_without_data_or_target() -> None:
    lines = build_lines(METRICS, ROWS, TARGETS, TODAY, YESTERDAY)
    assert [line.metric.key for line in lines] == ["qa", "csat", "aht", "items"]  # no "accuracy"


def test_build_lines_values_status_and_delta() -> None:
    lines = _by_key(build_lines(METRICS, ROWS, TARGETS, TODAY, YESTERDAY))
    csat, aht, items = lines["csat"], lines["aht"], lines["items"]
    assert (csat.value, csat.status, csat.delta, csat.target) == (90.0, Rag.GREEN, 10.0, Target(85, 80))
    assert (aht.value, aht.status, aht.delta) == (405.0, Rag.GREEN, -15.0)
    assert (items.value, items.status, items.delta, items.target) == (30, Rag.NONE, -20, None)
    assert all(line.has_previous for line in (csat, aht, items))


def test_build_lines_metric_with_target_but_no_data_has_no_value() -> None:
    qa = _by_key(build_lines(METRICS, ROWS, TARGETS, TODAY, YESTERDAY))["qa"]
    assert qa.value is None
    assert qa.status is Rag.NONE
    assert qa.delta is None
    assert qa.has_previous is False
    assert qa.spark == ""


def test_build_lines_sparkline_covers_fourteen_days_to_the_period_end() -> None:
    csat = _by_key(build_lines(METRICS, ROWS, TARGETS, TODAY, YESTERDAY))["csat"]
    assert csat.spark == "·" * 12 + "▁█"


def test_build_lines_without_previous_data_has_no_delta() -> None:
    rows = [r for r in ROWS if r.day == D18]
    csat = _by_key(build_lines(METRICS, rows, TARGETS, TODAY, YESTERDAY))["csat"]
    assert csat.value == 90.0
    assert csat.delta is None
    assert csat.has_previous is False


def test_build_lines_partial_day_suppresses_delta_for_sum_metrics_only() -> None:
    lines = _by_key(build_lines(METRICS, ROWS, TARGETS, TODAY, YESTERDAY, partial_day=True))
    assert lines["items"].value == 30
    assert lines["items"].delta is None
    assert lines["items"].has_previous is True  # a previous day exists; only the comparison is withheld
    assert lines["csat"].delta == 10.0
    assert lines["aht"].delta == -15.0


def test_build_lines_data_only_earlier_in_the_window_still_shows_the_metric() -> None:
    rows = [DaySums("items", date(2026, 11, 10), 12, 0, 1)]
    (items,) = build_lines([ITEMS], rows, {}, TODAY, YESTERDAY)
    assert items.value is None
    assert items.status is Rag.NONE
    assert items.spark == "·" * 5 + "▅" + "·" * 8


def test_build_lines_ratio_of_sums_over_a_multi_day_period() -> None:
    rows = [DaySums("csat", D17, 18, 20, 20), DaySums("csat", D17, 1, 4, 4), DaySums("csat", D18, 43, 56, 56)]
    (csat,) = build_lines([CSAT], rows, {}, DateRange(D17, D18), DateRange(date(2026, 11, 15), date(2026, 11, 16)))
    assert csat.value == pytest.approx(62 / 80 * 100)
    assert csat.has_previous is False


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (TODAY, YESTERDAY, DateRange(date(2026, 11, 5), D18)),  # the sparkline reaches furthest back
        (
            DateRange(date(2026, 10, 20), D18),
            DateRange(date(2026, 9, 20), date(2026, 10, 19)),
            DateRange(date(2026, 9, 20), D18),  # the previous 30 days reach further
        ),
    ],
)
def test_window_for_covers_previous_current_and_sparkline(
    current: DateRange, previous: DateRange, expected: DateRange
) -> None:
    window = window_for(current, previous)
    assert window == expected
    assert previous.start in window
    assert current.end - timedelta(days=13) in window


def test_scorecard_has_data_only_when_some_line_has_a_value() -> None:
    empty = Scorecard("Team Alpha", "today", (), None, None, "today")
    lines = build_lines(METRICS, ROWS, TARGETS, TODAY, YESTERDAY)
    assert not empty.has_data
    assert Scorecard("Team Alpha", "today", lines, 3, None, "today").has_data
    no_values = tuple(line for line in lines if line.value is None)
    assert not Scorecard("Team Alpha", "today", no_values, 3, None, "today").has_data


NOW = datetime(2026, 11, 18, 14, 30)
STALE = "⚠️ Stale data: the newest figure is {} old — check the KPI feed."


@pytest.mark.parametrize(
    ("up_to", "expected"),
    [
        (None, None),
        (NOW - timedelta(minutes=30), None),
        (NOW - timedelta(hours=1), None),  # exactly at the limit is not stale
        (NOW - timedelta(minutes=75), STALE.format("1 h 15 min")),
        (NOW - timedelta(hours=26, minutes=5), STALE.format("26 h 05 min")),
    ],
)
def test_staleness_note(up_to: datetime | None, expected: str | None) -> None:
    assert staleness_note(up_to, NOW, timedelta(hours=1)) == expected


def test_staleness_note_under_an_hour_shows_minutes_only() -> None:
    note = staleness_note(NOW - timedelta(minutes=45), NOW, timedelta(minutes=30))
    assert note == STALE.format("45 min")
