"""RAG status, value and delta formatting, and samples given as display values."""

from __future__ import annotations

import pytest

from bot.domain.metrics import (
    DEFAULT_METRICS,
    Aggregation,
    MetricDef,
    Rag,
    Target,
    Unit,
    format_delta,
    format_value,
    rag,
    value_from_display,
)

CSAT_TARGET = Target(green=85.0, amber=80.0)  # higher is better
AHT_TARGET = Target(green=420.0, amber=480.0)  # lower is better (seconds)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (90.0, Rag.GREEN),
        (85.0, Rag.GREEN),  # exactly on target meets it
        (84.99, Rag.AMBER),
        (80.0, Rag.AMBER),  # exactly on the amber edge is still tolerable
        (79.99, Rag.RED),
        (0.0, Rag.RED),
    ],
)
def test_rag_higher_is_better_boundaries(value: float, expected: Rag) -> None:
    assert rag(value, CSAT_TARGET, higher_is_better=True) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (300.0, Rag.GREEN),
        (420.0, Rag.GREEN),  # exactly on target
        (420.5, Rag.AMBER),
        (480.0, Rag.AMBER),  # exactly on the amber edge
        (480.5, Rag.RED),
    ],
)
def test_rag_lower_is_better_boundaries(value: float, expected: Rag) -> None:
    assert rag(value, AHT_TARGET, higher_is_better=False) is expected


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_rag_is_none_without_a_value(higher_is_better: bool) -> None:
    assert rag(None, CSAT_TARGET, higher_is_better=higher_is_better) is Rag.NONE


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_rag_is_none_without_a_target(higher_is_better: bool) -> None:
    assert rag(50.0, None, higher_is_better=higher_is_better) is Rag.NONE


def test_rag_zero_value_is_a_value_not_missing() -> None:
    assert rag(0.0, Target(green=0.0, amber=5.0), higher_is_better=False) is Rag.GREEN


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (87.456, Unit.PERCENT, "87.5%"),
        (100.0, Unit.PERCENT, "100.0%"),
        (405.0, Unit.SECONDS, "6m 45s"),
        (45.0, Unit.SECONDS, "45s"),
        (60.0, Unit.SECONDS, "1m 00s"),
        (59.6, Unit.SECONDS, "1m 00s"),  # rounds to 60 s before choosing the form
        (3661.0, Unit.SECONDS, "61m 01s"),
        (0.0, Unit.SECONDS, "0s"),
        (12.34, Unit.PER_HOUR, "12.3/h"),
        (1234567.0, Unit.COUNT, "1,234,567"),
        (42.0, Unit.COUNT, "42"),
        (4.256, Unit.SCORE, "4.26"),
    ],
)
def test_format_value_per_unit(value: float, unit: Unit, expected: str) -> None:
    assert format_value(value, unit) == expected


@pytest.mark.parametrize("unit", list(Unit))
def test_format_value_missing_is_a_dash(unit: Unit) -> None:
    assert format_value(None, unit) == "—"
    assert format_value(float("nan"), unit) == "—"


@pytest.mark.parametrize(
    ("delta", "unit", "expected"),
    [
        (2.345, Unit.PERCENT, "▲ +2.3 pts better"),
        (-1.25, Unit.PERCENT, "▼ −1.2 pts worse"),  # round-half-even on 1.25 (binary 1.25 is exact)
        (-3.0, Unit.PERCENT, "▼ −3.0 pts worse"),
        (1.5, Unit.PER_HOUR, "▲ +1.5/h better"),
        (1500.0, Unit.COUNT, "▲ +1,500 better"),
        (-0.255, Unit.SCORE, "▼ −0.26 worse"),
    ],
)
def test_format_delta_higher_is_better(delta: float, unit: Unit, expected: str) -> None:
    assert format_delta(delta, unit, higher_is_better=True) == expected


@pytest.mark.parametrize(
    ("delta", "unit"),
    [(0.04, Unit.PERCENT), (-0.04, Unit.PERCENT), (0.0, Unit.PERCENT), (0.049, Unit.PER_HOUR)],
)
def test_format_delta_too_small_to_show_is_no_change(delta: float, unit: Unit) -> None:
    suffix = " pts" if unit is Unit.PERCENT else "/h"
    assert format_delta(delta, unit) == f"▶ ±0.0{suffix}"


def test_format_delta_seconds_under_half_a_second_is_no_change() -> None:
    assert format_delta(0.4, Unit.SECONDS, higher_is_better=False) == "▶ ±0s"
    assert format_delta(-0.4, Unit.SECONDS, higher_is_better=False) == "▶ ±0s"


def test_format_delta_handle_time_up_is_worse() -> None:
    assert format_delta(15.0, Unit.SECONDS, higher_is_better=False) == "▲ +15s worse"


def test_format_delta_handle_time_down_is_better() -> None:
    assert format_delta(-32.4, Unit.SECONDS, higher_is_better=False) == "▼ −32s better"


def test_format_delta_without_previous_says_so() -> None:
    assert format_delta(None, Unit.PERCENT) == "no previous data"


def test_format_delta_uses_a_true_minus_sign() -> None:
    text = format_delta(-1.0, Unit.PERCENT)
    assert "−" in text
    assert "-" not in text


def test_value_from_display_ratio_metric_unscales_with_weight_one() -> None:
    csat = MetricDef("csat", "CSAT", Unit.PERCENT, True, Aggregation.RATIO, 100.0)
    assert value_from_display(87.5, csat) == (0.875, 1.0)


def test_value_from_display_ratio_metric_with_unit_scale() -> None:
    aht = MetricDef("aht", "Handle time", Unit.SECONDS, False, Aggregation.RATIO, 1.0)
    assert value_from_display(405.0, aht) == (405.0, 1.0)


def test_value_from_display_sum_metric_is_the_count_itself() -> None:
    items = MetricDef("items", "Items handled", Unit.COUNT, True, Aggregation.SUM)
    assert value_from_display(120.0, items) == (120.0, 0.0)


def test_default_metrics_have_unique_keys_and_positions() -> None:
    keys = [m.key for m in DEFAULT_METRICS]
    positions = [m.position for m in DEFAULT_METRICS]
    assert len(set(keys)) == len(keys)
    assert positions == sorted(positions)
    assert {m.key for m in DEFAULT_METRICS if not m.higher_is_better} == {"aht"}
