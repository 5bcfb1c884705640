"""Which adherence KPI figures an agent-day yields, and which local days the job recomputes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.adherence import Segment, StateEvent, adherence
from bot.domain.adherence_kpis import Figure, daily_figures, day_window, recent_days
from bot.domain.metrics import DEFAULT_METRICS

LONDON, SAST = ZoneInfo("Europe/London"), ZoneInfo("Africa/Johannesburg")


def test_a_local_day_is_23_or_25_hours_across_dst() -> None:
    spring, autumn, plain = (day_window(date(2026, m, d), LONDON) for m, d in ((3, 29), (10, 25), (11, 18)))
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn == (datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 10, 26, 0, tzinfo=UTC))
    assert plain[1] - plain[0] == timedelta(hours=24)


def test_recent_days_are_the_teams_local_dates() -> None:
    just_after_midnight = datetime(2026, 11, 18, 22, 10, tzinfo=UTC)  # Thursday 00:10 in Durban, Wed 22:10 London
    assert recent_days(just_after_midnight, SAST) == [date(2026, 11, 18), date(2026, 11, 19)]
    assert recent_days(just_after_midnight, LONDON) == [date(2026, 11, 17), date(2026, 11, 18)]
    assert recent_days(just_after_midnight, LONDON, days_back=0) == [date(2026, 11, 18)]


def _day(events: list[tuple[int, str]], now_hour: int) -> list[Figure]:
    t = datetime(2026, 11, 18, tzinfo=UTC)
    segments = [
        Segment(t.replace(hour=8), t.replace(hour=12), "open"),
        Segment(t.replace(hour=12), t.replace(hour=13), "meeting"),
    ]
    result = adherence(
        segments,
        [StateEvent(t.replace(hour=h), s) for h, s in events],
        window_start=t,
        window_end=t + timedelta(days=1),
        now=t.replace(hour=now_hour),
    )
    return daily_figures(result)


def test_figures_are_minutes_and_neutral_time_counts_neither_way() -> None:
    # In 08:00-10:00, away 10:00-12:00 (out), working through the meeting (out): 120 in of 300 counted.
    # Conformance: worked 08-10 and 12-14 (the meeting and the unscheduled hour after it count as work done).
    figures = _day([(8, "available"), (10, "away"), (12, "available")], now_hour=14)
    assert figures == [Figure("schedule_adherence", 120, 300), Figure("conformance", 240, 240)]
    # Logged off in the meeting is neutral: it leaves the denominator (120 of 240).
    assert _day([(8, "available"), (10, "away"), (12, "offline")], now_hour=14)[0] == Figure(
        "schedule_adherence", 120, 240
    )


def test_nothing_counted_yet_gives_no_figure() -> None:
    assert _day([(7, "available")], now_hour=7) == []  # the shift starts at 08:00


def test_the_computed_metrics_are_in_the_catalogue_apart_from_imported_adherence() -> None:
    by_key = {m.key: m for m in DEFAULT_METRICS}
    for key in ("schedule_adherence", "conformance"):
        assert by_key[key].aggregation == by_key["adherence"].aggregation and by_key[key].scale == 100.0
    assert len({m.label for m in DEFAULT_METRICS}) == len(DEFAULT_METRICS)
