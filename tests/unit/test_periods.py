"""Reporting periods in a team's local calendar and the comparable previous period."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.domain.periods import PERIOD_LABELS, DateRange, PeriodKind, period_range, previous_range

WED = date(2026, 11, 18)  # Wednesday
MON = date(2026, 11, 16)  # Monday
FIRST = date(2026, 12, 1)  # Tuesday, first of the month


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


@pytest.mark.parametrize(
    ("kind", "start", "end"),
    [
        (PeriodKind.TODAY, d(11, 18), d(11, 18)),
        (PeriodKind.YESTERDAY, d(11, 17), d(11, 17)),
        (PeriodKind.WTD, d(11, 16), d(11, 18)),
        (PeriodKind.MTD, d(11, 1), d(11, 18)),
        (PeriodKind.D7, d(11, 12), d(11, 18)),
        (PeriodKind.D30, d(10, 20), d(11, 18)),
    ],
)
def test_period_range_on_a_wednesday(kind: PeriodKind, start: date, end: date) -> None:
    assert period_range(kind, WED) == DateRange(start, end)


@pytest.mark.parametrize(
    ("kind", "start", "end"),
    [
        (PeriodKind.TODAY, d(11, 16), d(11, 16)),
        (PeriodKind.YESTERDAY, d(11, 15), d(11, 15)),  # Sunday
        (PeriodKind.WTD, d(11, 16), d(11, 16)),  # the week starts on Monday
        (PeriodKind.MTD, d(11, 1), d(11, 16)),
        (PeriodKind.D7, d(11, 10), d(11, 16)),
        (PeriodKind.D30, d(10, 18), d(11, 16)),
    ],
)
def test_period_range_on_a_monday(kind: PeriodKind, start: date, end: date) -> None:
    assert period_range(kind, MON) == DateRange(start, end)


@pytest.mark.parametrize(
    ("kind", "start", "end"),
    [
        (PeriodKind.TODAY, d(12, 1), d(12, 1)),
        (PeriodKind.YESTERDAY, d(11, 30), d(11, 30)),
        (PeriodKind.WTD, d(11, 30), d(12, 1)),  # the week began last month
        (PeriodKind.MTD, d(12, 1), d(12, 1)),
        (PeriodKind.D7, d(11, 25), d(12, 1)),
        (PeriodKind.D30, d(11, 2), d(12, 1)),
    ],
)
def test_period_range_on_the_first_of_a_month(kind: PeriodKind, start: date, end: date) -> None:
    assert period_range(kind, FIRST) == DateRange(start, end)


@pytest.mark.parametrize(("kind", "days"), [(PeriodKind.D7, 7), (PeriodKind.D30, 30)])
def test_rolling_periods_have_their_nominal_length(kind: PeriodKind, days: int) -> None:
    assert period_range(kind, WED).days == days


def test_previous_of_today_is_yesterday() -> None:
    assert previous_range(PeriodKind.TODAY, DateRange(WED, WED)) == DateRange(d(11, 17), d(11, 17))


def test_previous_of_yesterday_is_the_day_before() -> None:
    assert previous_range(PeriodKind.YESTERDAY, DateRange(d(11, 17), d(11, 17))) == DateRange(d(11, 16), d(11, 16))


def test_previous_of_wtd_is_the_same_weekdays_last_week() -> None:
    current = period_range(PeriodKind.WTD, WED)  # Mon 16 – Wed 18 Nov
    assert previous_range(PeriodKind.WTD, current) == DateRange(d(11, 9), d(11, 11))  # Mon 9 – Wed 11 Nov


def test_previous_of_mtd_is_the_same_days_last_month() -> None:
    current = DateRange(d(3, 1, 2027), d(3, 15, 2027))
    assert previous_range(PeriodKind.MTD, current) == DateRange(d(2, 1, 2027), d(2, 15, 2027))


def test_previous_of_a_full_march_is_clamped_to_the_end_of_february() -> None:
    current = DateRange(d(3, 1, 2027), d(3, 31, 2027))
    assert previous_range(PeriodKind.MTD, current) == DateRange(d(2, 1, 2027), d(2, 28, 2027))


def test_previous_of_march_in_a_leap_year_ends_on_the_29th() -> None:
    current = DateRange(d(3, 1, 2028), d(3, 30, 2028))
    assert previous_range(PeriodKind.MTD, current) == DateRange(d(2, 1, 2028), d(2, 29, 2028))


def test_previous_of_mtd_in_january_is_last_december() -> None:
    current = DateRange(d(1, 1, 2027), d(1, 10, 2027))
    assert previous_range(PeriodKind.MTD, current) == DateRange(d(12, 1, 2026), d(12, 10, 2026))


def test_previous_of_7d_shifts_by_seven_days() -> None:
    current = period_range(PeriodKind.D7, WED)  # 12–18 Nov
    assert previous_range(PeriodKind.D7, current) == DateRange(d(11, 5), d(11, 11))


def test_previous_of_30d_shifts_by_thirty_days() -> None:
    current = period_range(PeriodKind.D30, WED)  # 20 Oct – 18 Nov
    assert previous_range(PeriodKind.D30, current) == DateRange(d(9, 20), d(10, 19))


@pytest.mark.parametrize("kind", [PeriodKind.TODAY, PeriodKind.YESTERDAY, PeriodKind.D7, PeriodKind.D30])
def test_previous_range_ends_the_day_before_the_current_one(kind: PeriodKind) -> None:
    current = period_range(kind, WED)
    previous = previous_range(kind, current)
    assert previous.days == current.days
    assert (current.start - previous.end).days == 1


def test_date_range_days_is_inclusive() -> None:
    assert DateRange(WED, WED).days == 1
    assert DateRange(MON, WED).days == 3


@pytest.mark.parametrize(
    ("day", "inside"),
    [(MON, True), (d(11, 17), True), (WED, True), (d(11, 15), False), (d(11, 19), False)],
)
def test_date_range_contains_is_inclusive_at_both_ends(day: date, inside: bool) -> None:
    assert (day in DateRange(MON, WED)) is inside


@pytest.mark.parametrize("other", ["2026-11-17", None, 17])
def test_date_range_does_not_contain_non_dates(other: object) -> None:
    assert (other in DateRange(MON, WED)) is False


def test_date_range_contains_a_datetime_by_its_date() -> None:
    assert datetime(2026, 11, 17, 9, 0) in DateRange(MON, WED)
    assert datetime(2026, 11, 20, 9, 0) not in DateRange(MON, WED)


def test_describe_a_single_day() -> None:
    assert DateRange(WED, WED).describe() == "Wed 18 Nov"


def test_describe_a_span() -> None:
    assert DateRange(MON, WED).describe() == "16 Nov – 18 Nov"


def test_every_period_kind_has_a_label() -> None:
    assert set(PERIOD_LABELS) == set(PeriodKind)
    assert PERIOD_LABELS[PeriodKind.WTD] == "week to date"
