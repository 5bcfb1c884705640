"""Properties of the adherence engine over random days: bounds, invariances and scan-to-scan stability."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.adherence import Evaluation, Segment, StateEvent, evaluate, timeline
from bot.domain.adherence_rules import DEFAULT_RULES, Activity, State, Verdict

BASE = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = 3600
# Weighted towards a real day: mostly open blocks, mostly working states; "project" / "on_fire" are unmapped.
ACTIVITIES = [*Activity, *[Activity.OPEN] * 6, Activity.BREAK, Activity.LUNCH, "project"]
STATES = [*State, *[State.AVAILABLE, State.BUSY] * 3, State.OFFLINE, State.BREAK, "on_fire"]
PROFILE = settings(max_examples=100, deadline=None)


@dataclass(frozen=True)
class Day:
    segments: list[Segment]
    events: list[StateEvent]
    window_start: datetime
    window_end: datetime
    now: datetime
    excused: list[tuple[datetime, datetime]]

    def run(
        self,
        *,
        segments: list[Segment] | None = None,
        events: list[StateEvent] | None = None,
        now: datetime | None = None,
        excused: list[tuple[datetime, datetime]] | None = None,
    ) -> Evaluation:
        day = replace(
            self,
            segments=self.segments if segments is None else segments,
            events=self.events if events is None else events,
            now=self.now if now is None else now,
            excused=self.excused if excused is None else excused,
        )
        return evaluate(
            "agent",
            day.segments,
            day.events,
            DEFAULT_RULES,
            window_start=day.window_start,
            window_end=day.window_end,
            now=day.now,
            excused=day.excused,
        )

    def shifted(self, by: timedelta) -> Day:
        return Day(
            segments=[Segment(s.start + by, s.end + by, s.activity) for s in self.segments],
            events=[StateEvent(e.at + by, e.state) for e in self.events],
            window_start=self.window_start + by,
            window_end=self.window_end + by,
            now=self.now + by,
            excused=[(s + by, e + by) for s, e in self.excused],
        )


def at(seconds: int) -> datetime:
    return BASE + timedelta(seconds=seconds)


@st.composite
def days(draw: st.DrawFn) -> Day:
    """A shift of up to 8 blocks (mostly back to back, mostly open) with state changes around it."""
    segments: list[Segment] = []
    first = t = draw(st.integers(6 * HOUR, 10 * HOUR))
    for _ in range(draw(st.integers(0, 8))):
        t += draw(st.sampled_from([0, 0, 0, 60, 15 * 60, 2 * HOUR]))
        length = draw(st.integers(1, 3 * 60)) * 60 + draw(st.sampled_from([0, 0, 17]))
        segments.append(Segment(at(t), at(t + length), draw(st.sampled_from(ACTIVITIES))))
        t += length
    times = st.integers(first - HOUR, first + 12 * HOUR)
    changes = draw(st.lists(st.tuples(times, st.sampled_from(STATES)), min_size=2, max_size=30))
    if draw(st.booleans()):  # logged in on time, so stretches later in the day are not all late logins
        changes.append((first - draw(st.integers(0, 600)), State.AVAILABLE))
    # Hypothesis favours small integers; half the windows are the scan's usual day-long ones.
    start = draw(st.sampled_from([0, first - HOUR]) | st.integers(0, first + 4 * HOUR))
    length = draw(st.sampled_from([24 * HOUR, 30 * HOUR]) | st.integers(0, 30 * HOUR))
    spans = draw(st.lists(st.tuples(times, st.integers(0, 2 * HOUR)), max_size=2))
    return Day(
        segments=segments,
        events=[StateEvent(at(s), state) for s, state in changes],
        window_start=at(start),
        window_end=at(start + length),
        now=at(draw(st.integers(first, first + 14 * HOUR))),
        excused=[(at(s), at(s + n)) for s, n in spans],
    )


def breach_shape(result: Evaluation) -> list[tuple[str, float, float, bool]]:
    return [(b.kind, b.seconds, b.excused_seconds, b.ended is None) for b in result.breaches]


@PROFILE
@given(days())
def test_percentages_are_bounded_and_the_seconds_add_up(day: Day) -> None:
    a = day.run().adherence

    assert a.adherence_pct is None or 0 <= a.adherence_pct <= 100
    assert a.conformance_pct is None or a.conformance_pct >= 0
    assert (a.adherence_pct is None) == (a.in_seconds + a.out_seconds == 0)
    assert a.scheduled_seconds == a.in_seconds + a.out_seconds + a.neutral_seconds + a.excused_seconds
    span = (a.evaluated_until - a.window_start).total_seconds()
    assert a.scheduled_seconds + a.unscheduled_seconds == span


@PROFILE
@given(days())
def test_timeline_covers_the_window_and_agrees_with_the_totals(day: Day) -> None:
    pieces = timeline(
        day.segments, day.events, window_start=day.window_start, window_end=day.window_end, now=day.now,
        excused=day.excused,
    )  # fmt: skip
    a = day.run().adherence

    if pieces:
        assert pieces[0].start == a.window_start and pieces[-1].end == a.evaluated_until
    assert all(p.end == q.start for p, q in pairwise(pieces))
    assert all(p.end > p.start for p in pieces)
    total = {v: sum(p.seconds for p in pieces if p.verdict is v and p.activity is not None) for v in Verdict}
    assert total[Verdict.IN] == a.in_seconds and total[Verdict.OUT] == a.out_seconds
    assert total[Verdict.NEUTRAL] == a.neutral_seconds and total[Verdict.EXCUSED] == a.excused_seconds


@PROFILE
@given(days(), st.integers(-400, 400), st.integers(0, 86_399))
def test_shifting_every_timestamp_changes_nothing(day: Day, days_by: int, seconds_by: int) -> None:
    by = timedelta(days=days_by, seconds=seconds_by)
    before, after = day.run(), day.shifted(by).run()

    assert after.adherence.adherence_pct == before.adherence.adherence_pct
    assert after.adherence.conformance_pct == before.adherence.conformance_pct
    assert breach_shape(after) == breach_shape(before)
    assert [b.started - by for b in after.breaches] == [b.started for b in before.breaches]


@PROFILE
@given(days(), st.data())
def test_splitting_a_segment_changes_nothing(day: Day, data: st.DataObject) -> None:
    if not day.segments:
        return
    i = data.draw(st.integers(0, len(day.segments) - 1))
    seg = day.segments[i]
    cut = seg.start + timedelta(seconds=data.draw(st.integers(1, int((seg.end - seg.start).total_seconds()) - 1)))
    split = [*day.segments[:i], Segment(seg.start, cut, seg.activity), Segment(cut, seg.end, seg.activity)]
    split += day.segments[i + 1 :]

    assert day.run(segments=split) == day.run()


@PROFILE
@given(days(), st.data())
def test_duplicated_events_change_nothing(day: Day, data: st.DataObject) -> None:
    extra = data.draw(st.lists(st.sampled_from(day.events), max_size=10)) if day.events else []

    assert day.run(events=day.events + extra) == day.run()


@PROFILE
@given(days(), st.randoms(use_true_random=False))
def test_event_and_segment_order_changes_nothing(day: Day, rnd: random.Random) -> None:
    events, segments = list(day.events), list(day.segments)
    rnd.shuffle(events)
    rnd.shuffle(segments)

    assert day.run(events=events, segments=segments) == day.run()


@PROFILE
@given(days())
def test_excusing_everything_leaves_nothing_to_count(day: Day) -> None:
    everything = [(at(-2 * 24 * HOUR), at(4 * 24 * HOUR))]
    result = day.run(excused=everything)

    assert result.adherence.adherence_pct is None  # documented: nothing left to count
    assert result.adherence.in_seconds == result.adherence.out_seconds == result.adherence.neutral_seconds == 0
    assert [b.key for b in result.breaches] == [b.key for b in day.run().breaches]  # breaches stay, keys and all
    assert all(b.excused_seconds == b.seconds for b in result.breaches)


@PROFILE
@given(days())
def test_breaches_pass_their_threshold_and_do_not_overlap(day: Day) -> None:
    breaches = day.run().breaches

    for b in breaches:
        assert b.seconds > DEFAULT_RULES.thresholds[b.kind]
        assert b.ended is None or (b.ended - b.started).total_seconds() == b.seconds
    for b, c in pairwise(breaches):
        assert b.ended is not None and b.ended <= c.started
    assert all(b.ended is not None for b in breaches[:-1])


@PROFILE
@given(days(), st.integers(1, 6 * HOUR))
def test_a_later_scan_keeps_every_breach_an_earlier_scan_saw(day: Day, later_by: int) -> None:
    # The per-minute scan upserts on the key: a stretch must keep its key, and a resolved breach its numbers.
    early = day.run()
    late = day.run(now=day.now + timedelta(seconds=later_by))
    late_by_key = {b.key: b for b in late.breaches}

    for b in early.breaches:
        assert b.key in late_by_key
        if b.ended is not None:
            assert late_by_key[b.key] == b


@PROFILE
@given(days())
def test_history_cut_at_the_window_start_counts_the_same(day: Day) -> None:
    # What a per-day loader sends: the latest event at or before the window start, and everything after it.
    before = [e for e in day.events if e.at <= day.window_start]
    latest = [e for e in before if e.at == max(b.at for b in before)] if before else []
    cut = latest + [e for e in day.events if e.at > day.window_start]
    full = day.run().adherence
    scan = evaluate(
        "agent", day.segments, cut, window_start=day.window_start, window_end=day.window_end, now=day.now,
        excused=day.excused, history_from=day.window_start,
    )  # fmt: skip

    assert scan.adherence == full
