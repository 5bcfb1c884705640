"""Reporting periods in a team's local calendar, and the previous period of equal length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum


class PeriodKind(StrEnum):
    TODAY = "today"
    YESTERDAY = "yesterday"
    WTD = "wtd"
    MTD = "mtd"
    D7 = "7d"
    D30 = "30d"


PERIOD_LABELS = {
    PeriodKind.TODAY: "today",
    PeriodKind.YESTERDAY: "yesterday",
    PeriodKind.WTD: "week to date",
    PeriodKind.MTD: "month to date",
    PeriodKind.D7: "last 7 days",
    PeriodKind.D30: "last 30 days",
}


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive range of local dates."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        if isinstance(day, datetime):  # a datetime is a date subclass but does not compare with one
            day = day.date()
        return isinstance(day, date) and self.start <= day <= self.end

    def describe(self) -> str:
        if self.start == self.end:
            return self.start.strftime("%a %d %b")
        return f"{self.start:%d %b} – {self.end:%d %b}"


def period_range(kind: PeriodKind, today: date) -> DateRange:
    """The local dates a period covers, given the team's local ``today``."""
    match kind:
        case PeriodKind.TODAY:
            return DateRange(today, today)
        case PeriodKind.YESTERDAY:
            y = today - timedelta(days=1)
            return DateRange(y, y)
        case PeriodKind.WTD:
            return DateRange(today - timedelta(days=today.weekday()), today)
        case PeriodKind.MTD:
            return DateRange(today.replace(day=1), today)
        case PeriodKind.D7:
            return DateRange(today - timedelta(days=6), today)
        case PeriodKind.D30:
            return DateRange(today - timedelta(days=29), today)
    raise AssertionError(kind)  # pragma: no cover - exhaustive match


def previous_range(kind: PeriodKind, current: DateRange) -> DateRange:
    """The comparable earlier period: same length, immediately before (same weekdays for wtd, last month for mtd)."""
    if kind is PeriodKind.MTD:
        last_month_end = current.start - timedelta(days=1)
        start = last_month_end.replace(day=1)
        end = min(start + timedelta(days=current.days - 1), last_month_end)
        return DateRange(start, end)
    if kind is PeriodKind.WTD:
        return DateRange(current.start - timedelta(days=7), current.end - timedelta(days=7))
    shift = timedelta(days=current.days)
    return DateRange(current.start - shift, current.end - shift)
