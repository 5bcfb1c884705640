"""``scan_breaches``: how long an agent's answer holds, so the per-minute scan can skip agents safely."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.adherence import Segment, StateEvent, detect_breaches, scan_breaches
from tests.unit.test_adherence_properties import PROFILE, Day, days


def _scan(day: Day, now: datetime) -> tuple[object, ...]:
    start = min(day.window_start, day.now)  # the scan's window ends at now
    result = scan_breaches("agent", day.segments, day.events, window_start=start, now=now, excused=day.excused)
    return result.breaches, result.steady_until


@PROFILE
@given(days(), st.floats(0, 1, exclude_max=True))
def test_the_answer_holds_until_steady_until(day: Day, fraction: float) -> None:
    breaches, until = _scan(day, day.now)
    assert breaches == tuple(
        detect_breaches(
            "agent",
            day.segments,
            day.events,
            window_start=min(day.window_start, day.now),
            window_end=day.now,
            now=day.now,
            excused=day.excused,
        )
    )
    assert until >= day.now
    later = day.now + min(until - day.now, timedelta(days=2)) * fraction
    assert _scan(day, later)[0] == breaches


def _t(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 18, hour, minute, tzinfo=UTC)


def test_out_now_holds_only_for_now_and_a_boundary_at_now_counts() -> None:
    shift = [Segment(_t(8), _t(12), "open"), Segment(_t(12), _t(12, 30), "lunch")]
    working = [StateEvent(_t(7, 58), "available")]
    assert _scan(Day(shift, working, _t(0), _t(0), _t(9), []), _t(9))[1] == _t(12)  # in: until lunch starts
    away = [*working, StateEvent(_t(9), "away")]
    assert _scan(Day(shift, away, _t(0), _t(0), _t(9, 1), []), _t(9, 1))[1] == _t(9, 1)  # out: growing
    # Not logged in yet at 08:00 sharp: the shift starts now, so nothing may be skipped.
    assert _scan(Day(shift, [], _t(0), _t(0), _t(8), []), _t(8))[1] == _t(8)
