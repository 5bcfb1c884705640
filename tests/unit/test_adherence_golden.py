"""Hand-worked adherence days: exact minutes, percentages and breaches.

The standard day (UTC) is an 8-hour shift, 09:00–17:00 = 480 scheduled minutes:
open 09:00–10:45, break 10:45–11:00, open 11:00–12:30, lunch 12:30–13:00, open 13:00–15:00, break 15:00–15:15,
open 15:15–17:00 → 420 on-queue minutes, 2 × 15 break minutes, 30 lunch minutes.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TypedDict
from zoneinfo import ZoneInfo

import pytest

from bot.domain.adherence import (
    BreachCandidate,
    Evaluation,
    Segment,
    StateEvent,
    adherence,
    detect_breaches,
    evaluate,
    shifts,
    timeline,
)
from bot.domain.adherence_rules import DEFAULT_RULES, BreachKind, Rules, Verdict

DAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


class Window(TypedDict):
    window_start: datetime
    window_end: datetime


WINDOW = Window(window_start=DAY, window_end=DAY + timedelta(days=1))
EVENING = DAY + timedelta(hours=18)


def at(hour: int, minute: int = 0, second: int = 0, *, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def minutes(seconds: float) -> float:
    return seconds / 60


STANDARD_DAY = [
    Segment(at(9), at(10, 45), "open"),
    Segment(at(10, 45), at(11), "break"),
    Segment(at(11), at(12, 30), "open"),
    Segment(at(12, 30), at(13), "lunch"),
    Segment(at(13), at(15), "open"),
    Segment(at(15), at(15, 15), "break"),
    Segment(at(15, 15), at(17), "open"),
]


def clean_events(**replace: tuple[int, int] | None) -> list[StateEvent]:
    """A clean day; ``replace`` moves (or, with None, drops) one named event."""
    plan = {
        "login": (at(8, 58), "available"),
        "busy": (at(9, 30), "busy"),
        "wrap": (at(9, 40), "after_work"),
        "free": (at(9, 42), "available"),
        "break1": (at(10, 45), "break"),
        "back1": (at(11), "available"),
        "lunch": (at(12, 30), "lunch"),
        "back_lunch": (at(13), "available"),
        "break2": (at(15), "break"),
        "back2": (at(15, 15), "busy"),
        "logout": (at(17), "offline"),
    }
    events = []
    for name, (moment, state) in plan.items():
        if name in replace:
            hm = replace[name]
            if hm is None:
                continue
            moment = at(*hm)
        events.append(StateEvent(moment, state))
    return events


def run(
    events: list[StateEvent], now: datetime = EVENING, excused: list[tuple[datetime, datetime]] | None = None
) -> Evaluation:
    return evaluate("thandi", STANDARD_DAY, events, now=now, excused=excused or [], **WINDOW)


# 1 -------------------------------------------------------------------------------------------------------------


def test_clean_shift_is_fully_adherent() -> None:
    result = run(clean_events())

    a = result.adherence
    assert minutes(a.scheduled_seconds) == 480
    assert (minutes(a.in_seconds), minutes(a.out_seconds), minutes(a.neutral_seconds)) == (480, 0, 0)
    assert a.adherence_pct == 100.0
    # Conformance: logged in at 08:58, so 2 unscheduled working minutes on top of 420 → 422 / 420.
    assert minutes(a.on_queue_scheduled_seconds) == 420
    assert minutes(a.on_queue_worked_seconds) == 422
    assert a.conformance_pct == pytest.approx(422 / 420 * 100)
    assert minutes(a.unscheduled_seconds) == 24 * 60 - 480 - 6 * 60  # evaluated up to 18:00
    assert result.breaches == ()


def test_clean_shift_timeline_is_contiguous_and_labelled() -> None:
    pieces = timeline(STANDARD_DAY, clean_events(), window_start=at(8), window_end=at(18), now=EVENING)

    assert pieces[0].start == at(8) and pieces[-1].end == at(18)
    assert all(a.end == b.start for a, b in pairwise(pieces))
    assert (pieces[0].verdict, pieces[0].activity, pieces[0].state) == (Verdict.NEUTRAL, None, "offline")
    assert [(p.start, p.verdict, p.state) for p in pieces if p.activity == "lunch"] == [
        (at(12, 30), Verdict.IN, "lunch")
    ]
    assert sum(p.seconds for p in pieces if p.verdict is Verdict.IN) == 480 * 60


# 2 -------------------------------------------------------------------------------------------------------------


def test_late_back_from_lunch_is_a_long_break_counted_from_the_scheduled_end() -> None:
    events = clean_events(back_lunch=(13, 12))
    result = run(events)

    assert minutes(result.adherence.out_seconds) == 12
    assert result.adherence.adherence_pct == 468 / 480 * 100 == 97.5
    assert result.adherence.conformance_pct == pytest.approx(410 / 420 * 100)
    (breach,) = result.breaches
    assert (breach.kind, breach.started, breach.ended, breach.seconds) == (
        BreachKind.LONG_BREAK,
        at(13),
        at(13, 12),
        720,
    )
    assert (breach.activity, breach.state) == ("open", "lunch")


def test_long_break_opens_only_after_the_threshold() -> None:
    events = clean_events(back_lunch=(13, 12))

    assert run(events, now=at(13, 5)).breaches == ()  # exactly 300 s out: not yet longer than the threshold
    (opened,) = run(events, now=at(13, 5, 1)).breaches
    assert opened.ended is None and opened.seconds == 301 and opened.alert_at == at(13, 5)
    (later,) = run(events, now=at(13, 11)).breaches
    assert later.key == opened.key and later.seconds == 660


def test_logged_off_over_lunch_is_neutral_and_a_late_return_is_a_long_break() -> None:
    events = [e for e in clean_events(back_lunch=(13, 8)) if e.state != "lunch"]
    events.append(StateEvent(at(12, 30), "offline"))
    result = run(events)

    a = result.adherence
    assert (minutes(a.neutral_seconds), minutes(a.out_seconds)) == (30, 8)  # the lunch itself counts neither way
    assert a.adherence_pct == pytest.approx(442 / 450 * 100)
    (breach,) = result.breaches
    assert (breach.kind, breach.started, breach.seconds, breach.state) == (
        BreachKind.LONG_BREAK,
        at(13),
        480,
        "offline",
    )


# 3 -------------------------------------------------------------------------------------------------------------


def test_early_logout_twenty_minutes_before_the_end() -> None:
    result = run(clean_events(logout=(16, 40)))

    assert minutes(result.adherence.out_seconds) == 20
    assert result.adherence.adherence_pct == pytest.approx(460 / 480 * 100)  # 95.83 %
    (breach,) = result.breaches
    # It resolves at the scheduled end: after 17:00 the time is unscheduled, so neutral.
    assert (breach.kind, breach.started, breach.ended, breach.seconds) == (
        BreachKind.EARLY_LOGOUT,
        at(16, 40),
        at(17),
        1200,
    )
    (live,) = run(clean_events(logout=(16, 40)), now=at(16, 50)).breaches
    assert live.key == breach.key and live.ended is None and live.seconds == 600


def test_offline_mid_shift_is_unscheduled_offline() -> None:
    events = [*clean_events(), StateEvent(at(10), "offline"), StateEvent(at(10, 20), "available")]
    (breach,) = run(events).breaches

    assert (breach.kind, breach.started, breach.seconds) == (BreachKind.UNSCHEDULED_OFFLINE, at(10), 1200)


# 4 -------------------------------------------------------------------------------------------------------------


def test_meeting_during_open_time_is_neutral() -> None:
    events = [*clean_events(back1=None), StateEvent(at(11), "meeting"), StateEvent(at(11, 30), "available")]
    a = run(events).adherence

    assert (minutes(a.in_seconds), minutes(a.out_seconds), minutes(a.neutral_seconds)) == (450, 0, 30)
    assert minutes(a.counted_seconds) == 450  # neutral time leaves the denominator too
    assert a.adherence_pct == 100.0
    assert minutes(a.scheduled_seconds) == 480
    assert a.conformance_pct == pytest.approx(392 / 420 * 100)  # the meeting was not queue work
    assert run(events).breaches == ()


# 5 -------------------------------------------------------------------------------------------------------------

AWAY = [*clean_events(), StateEvent(at(10), "away"), StateEvent(at(10, 40), "available")]


def test_unexcused_away_costs_forty_minutes() -> None:
    result = run(AWAY)

    assert result.adherence.adherence_pct == pytest.approx(440 / 480 * 100)  # 91.67 %
    (breach,) = result.breaches
    assert (breach.kind, breach.started, breach.seconds, breach.excused_seconds) == (
        BreachKind.OUT_OF_ADHERENCE,
        at(10),
        2400,
        0,
    )


def test_excused_breach_leaves_numerator_and_denominator() -> None:
    whole = run(AWAY, excused=[(at(10), at(10, 40))])
    a = whole.adherence
    assert (minutes(a.in_seconds), minutes(a.out_seconds), minutes(a.excused_seconds)) == (440, 0, 40)
    assert a.adherence_pct == 100.0  # 440 / 440
    assert minutes(a.scheduled_seconds) == 480  # = in + out + neutral + excused
    assert a.conformance_pct == pytest.approx(382 / 380 * 100)  # excused leaves both sides of conformance too

    half = run(AWAY, excused=[(at(10), at(10, 30))]).adherence
    assert (minutes(half.out_seconds), minutes(half.excused_seconds)) == (10, 30)
    assert half.adherence_pct == pytest.approx(440 / 450 * 100)  # 97.78 %


def test_excusing_keeps_the_breach_and_its_key() -> None:
    (plain,) = run(AWAY).breaches
    (excused,) = run(AWAY, excused=[(at(10), at(10, 30))]).breaches

    assert excused.key == plain.key and excused.seconds == 2400 and excused.excused_seconds == 1800
    pieces = timeline(STANDARD_DAY, AWAY, excused=[(at(10), at(10, 30))], now=EVENING, **WINDOW)
    assert [(p.start, p.end, p.state) for p in pieces if p.verdict is Verdict.EXCUSED] == [(at(10), at(10, 30), "away")]


# 6 -------------------------------------------------------------------------------------------------------------

NIGHT = [
    Segment(at(22), at(2, day=1), "open"),
    Segment(at(2, day=1), at(2, 30, day=1), "lunch"),
    Segment(at(2, 30, day=1), at(6, day=1), "open"),
]
NIGHT_EVENTS = [
    StateEvent(at(21, 58), "available"),
    StateEvent(at(23, 50), "away"),
    StateEvent(at(0, 10, day=1), "available"),
    StateEvent(at(2, day=1), "lunch"),
    StateEvent(at(2, 30, day=1), "available"),
    StateEvent(at(6, day=1), "offline"),
]


def test_midnight_crossing_shift_splits_by_day_and_sums_back() -> None:
    morning = at(7, day=1)
    whole = evaluate("sipho", NIGHT, NIGHT_EVENTS, window_start=at(21), window_end=morning, now=morning)
    first = evaluate("sipho", NIGHT, NIGHT_EVENTS, window_start=DAY, window_end=at(0, day=1), now=morning)
    second = evaluate("sipho", NIGHT, NIGHT_EVENTS, window_start=at(0, day=1), window_end=at(0, day=2), now=morning)

    assert minutes(whole.adherence.scheduled_seconds) == 480
    assert whole.adherence.adherence_pct == pytest.approx(460 / 480 * 100)
    assert (minutes(first.adherence.in_seconds), minutes(first.adherence.counted_seconds)) == (110, 120)
    assert (minutes(second.adherence.in_seconds), minutes(second.adherence.counted_seconds)) == (350, 360)
    # Ratio of sums across the two days is the shift's figure.
    days_in = first.adherence.in_seconds + second.adherence.in_seconds
    days_counted = first.adherence.counted_seconds + second.adherence.counted_seconds
    assert days_in / days_counted == whole.adherence.in_seconds / whole.adherence.counted_seconds
    # One stretch over midnight is one breach, with one key, whichever day's window finds it.
    for result in (whole, first, second):
        (breach,) = result.breaches
        assert (breach.kind, breach.started, breach.ended, breach.seconds) == (
            BreachKind.OUT_OF_ADHERENCE,
            at(23, 50),
            at(0, 10, day=1),
            1200,
        )


def test_a_loader_that_cuts_history_at_the_window_says_so() -> None:
    # A per-day loader gives day 2 only the latest event at or before 00:00 (away at 23:50) and what follows.
    cut = [e for e in NIGHT_EVENTS if e.at >= at(23, 50)]
    morning, day2 = at(7, day=1), Window(window_start=at(0, day=1), window_end=at(0, day=2))

    (breach,) = detect_breaches("sipho", NIGHT, cut, now=morning, history_from=at(0, day=1), **day2)
    assert (breach.kind, breach.started, breach.seconds) == (BreachKind.OUT_OF_ADHERENCE, at(23, 50), 1200)
    # Without history_from the engine takes the events as complete: "offline" from 22:00 until 23:50, then away.
    (invented,) = detect_breaches("sipho", NIGHT, cut, now=morning, **day2)
    assert (invented.kind, invented.started) == (BreachKind.LATE_LOGIN, at(22))


# 7 -------------------------------------------------------------------------------------------------------------

LONDON = ZoneInfo("Europe/London")


def london(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 10, day, hour, minute, tzinfo=LONDON)


def test_shift_over_the_autumn_clock_change_has_its_true_length() -> None:
    # Clocks go back at 02:00 BST on 26 Oct 2025: 22:00 Sat → 06:00 Sun local is 9 hours, not 8.
    segments = [
        Segment(london(25, 22), london(26, 2), "open"),  # 21:00 → 02:00 UTC: 300 minutes
        Segment(london(26, 2), london(26, 2, 30), "lunch"),
        Segment(london(26, 2, 30), london(26, 6), "open"),
    ]
    events = [
        StateEvent(london(25, 21, 55), "available"),
        StateEvent(london(26, 2), "lunch"),
        StateEvent(london(26, 2, 30), "busy"),
        StateEvent(london(26, 6), "offline"),
    ]
    assert segments[0].start == datetime(2025, 10, 25, 21, tzinfo=UTC)  # stored in UTC
    assert london(26, 6) - london(25, 22) == timedelta(hours=8)  # the wall-clock trap the engine avoids

    a = adherence(segments, events, window_start=london(25, 12), window_end=london(26, 12), now=london(26, 12))
    assert minutes(a.scheduled_seconds) == 540
    assert minutes(a.on_queue_scheduled_seconds) == 510
    assert a.adherence_pct == 100.0
    assert shifts(segments)[0].end - shifts(segments)[0].start == timedelta(hours=9)


# 8 -------------------------------------------------------------------------------------------------------------


def test_late_login_of_four_minutes_is_a_breach_of_four_minutes() -> None:
    result = run(clean_events(login=(9, 4)))

    assert result.adherence.adherence_pct == pytest.approx(476 / 480 * 100)
    (breach,) = result.breaches
    assert (breach.kind, breach.started, breach.ended, breach.seconds, breach.threshold_seconds) == (
        BreachKind.LATE_LOGIN,
        at(9),
        at(9, 4),
        240,
        180,
    )
    assert breach.state == "offline"  # no event before 09:04: not logged in


def test_late_login_of_two_minutes_is_not_a_breach() -> None:
    result = run(clean_events(login=(9, 2)))

    assert result.adherence.adherence_pct == pytest.approx(478 / 480 * 100)
    assert result.breaches == ()


def test_late_login_alerts_after_three_minutes() -> None:
    events = clean_events(login=(9, 4))
    assert run(events, now=at(9, 3)).breaches == ()
    (live,) = run(events, now=at(9, 3, 30)).breaches
    assert (live.kind, live.ended, live.seconds) == (BreachKind.LATE_LOGIN, None, 210)


# 9 -------------------------------------------------------------------------------------------------------------


def test_out_of_order_and_duplicated_events_change_nothing() -> None:
    clean = clean_events(back_lunch=(13, 12), logout=(16, 40))
    messy = clean * 3
    random.Random(7).shuffle(messy)

    assert run(messy) == run(clean)
    assert timeline(STANDARD_DAY, messy, now=EVENING, **WINDOW) == timeline(STANDARD_DAY, clean, now=EVENING, **WINDOW)
    assert len(run(clean).breaches) == 2


def test_split_and_shuffled_segments_change_nothing() -> None:
    pieces = [Segment(at(9), at(10), "open"), Segment(at(10), at(10, 45), "open"), *STANDARD_DAY[1:]]
    random.Random(3).shuffle(pieces)
    events = clean_events(back_lunch=(13, 12))

    assert evaluate("thandi", pieces, events, now=EVENING, **WINDOW) == run(events)


# 10 ------------------------------------------------------------------------------------------------------------


def test_open_breach_resolves_later_under_the_same_key() -> None:
    away = [*clean_events(), StateEvent(at(10), "away")]
    back = [*away, StateEvent(at(10, 15), "available")]

    assert run(away, now=at(10, 4)).breaches == ()
    (live,) = run(away, now=at(10, 6)).breaches
    assert (live.kind, live.started, live.ended, live.seconds) == (BreachKind.OUT_OF_ADHERENCE, at(10), None, 360)
    assert live.is_open and live.latest_state == "away"
    (resolved,) = run(back, now=at(10, 20)).breaches
    assert resolved.key == live.key == ("thandi", BreachKind.OUT_OF_ADHERENCE, at(10))
    assert (resolved.ended, resolved.seconds, resolved.is_open) == (at(10, 15), 900, False)


def test_a_stretch_changing_state_stays_one_breach_of_its_first_kind() -> None:
    events = [*clean_events(), StateEvent(at(10), "away"), StateEvent(at(10, 10), "offline")]
    events.append(StateEvent(at(10, 30), "available"))
    (breach,) = run(events).breaches

    assert (breach.kind, breach.seconds, breach.state, breach.latest_state) == (
        BreachKind.OUT_OF_ADHERENCE,
        1800,
        "away",
        "offline",
    )


def test_a_window_starting_mid_stretch_keeps_the_true_start() -> None:
    away = [*clean_events(), StateEvent(at(10), "away"), StateEvent(at(10, 40), "available")]
    (breach,) = detect_breaches("thandi", STANDARD_DAY, away, window_start=at(10, 20), window_end=at(12), now=at(12))

    assert breach.started == at(10) and breach.seconds == 2400


# Rules and configuration ---------------------------------------------------------------------------------------


def test_default_rules_make_the_documented_choices() -> None:
    r = DEFAULT_RULES
    assert [r.verdict("open", s) for s in ("available", "busy", "after_work")] == [Verdict.IN] * 3
    assert [r.verdict("open", s) for s in ("break", "lunch", "away", "offline")] == [Verdict.OUT] * 4
    assert r.verdict("open", "meeting") is Verdict.NEUTRAL
    assert (r.verdict("break", "offline"), r.verdict("break", "available")) == (Verdict.NEUTRAL, Verdict.NEUTRAL)
    assert (r.verdict("training", "available"), r.verdict("training", "coaching")) == (Verdict.OUT, Verdict.IN)
    assert r.verdict(None, "away") is Verdict.NEUTRAL  # unscheduled
    assert r.verdict("open", "on_fire") is Verdict.NEUTRAL  # unmapped
    assert r.thresholds[BreachKind.LATE_LOGIN] == 180 and r.thresholds[BreachKind.OUT_OF_ADHERENCE] == 300


def test_from_config_overlays_the_defaults() -> None:
    rules = Rules.from_config(
        {
            "states": ["project"],
            "matrix": {"break": {"available": "out"}, "open": {"project": "neutral"}},
            "thresholds": {"late_login": 60},
        }
    )
    assert rules.verdict("break", "available") is Verdict.OUT
    assert rules.verdict("open", "project") is Verdict.NEUTRAL
    assert rules.verdict("open", "busy") is Verdict.IN  # untouched default
    assert rules.thresholds[BreachKind.LATE_LOGIN] == 60
    assert rules.thresholds[BreachKind.LONG_BREAK] == 300
    assert Rules.from_config({}) == DEFAULT_RULES == Rules.from_config(None)


def test_strict_break_rule_changes_the_numbers() -> None:
    strict = Rules.from_config({"matrix": {"break": {"busy": "out", "available": "out"}}})
    events = [*clean_events(), StateEvent(at(15), "busy")]  # worked straight through the afternoon break
    events = [e for e in events if e.at != at(15) or e.state == "busy"]

    lenient = run(events).adherence
    assert (minutes(lenient.neutral_seconds), lenient.adherence_pct) == (15, 100.0)
    harsh = evaluate("thandi", STANDARD_DAY, events, strict, now=EVENING, **WINDOW)
    assert harsh.adherence.adherence_pct == pytest.approx(465 / 480 * 100)
    assert [(b.kind, b.seconds) for b in harsh.breaches] == [(BreachKind.OUT_OF_ADHERENCE, 900)]


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"matrix": {"open": {"brake": "out"}}}, "matrix.open.brake"),
        ({"matrix": {"opne": {"break": "out"}}}, "matrix.opne"),
        ({"matrix": {"open": {"break": "excused"}}}, "matrix.open.break"),
        ({"thresholds": {"late": 60}}, "thresholds.late"),
        ({"thresholds": {"late_login": -1}}, "thresholds.late_login"),
        ({"thresholds": {"late_login": "3m"}}, "thresholds.late_login"),
        ({"thresholds": {"late_login": True}}, "thresholds.late_login"),
        ({"threshold": {}}, "threshold"),
        ({"working_states": ["availabel"]}, "working_states"),
        ({"unmapped": "maybe"}, "unmapped"),
        ({"shift_gap": 1.5}, "shift_gap"),
        ({"states": "project"}, "states"),
    ],
)
def test_from_config_names_the_bad_key(config: dict[str, object], names: str) -> None:
    with pytest.raises(ValueError, match=rf"adherence rules: {names}:"):
        Rules.from_config(config)


def test_overlapping_segments_layer_the_later_one_on_top() -> None:
    layered = [Segment(at(9), at(17), "open"), Segment(at(11), at(11, 30), "meeting")]
    events = [StateEvent(at(9), "available"), StateEvent(at(11), "meeting"), StateEvent(at(11, 30), "busy")]
    a = adherence(layered, events, now=EVENING, **WINDOW)

    assert (minutes(a.in_seconds), minutes(a.on_queue_scheduled_seconds)) == (480, 450)


def test_split_shift_gets_its_own_late_login() -> None:
    split = [Segment(at(7), at(11), "open"), Segment(at(15), at(19), "open")]
    events = [StateEvent(at(7), "available"), StateEvent(at(11), "offline"), StateEvent(at(15, 10), "available")]
    (breach,) = detect_breaches("thandi", split, events, now=at(20), **WINDOW)

    assert (breach.kind, breach.started, breach.seconds) == (BreachKind.LATE_LOGIN, at(15), 600)


def test_nothing_scheduled_gives_none() -> None:
    a = adherence([], clean_events(), now=EVENING, **WINDOW)
    assert (a.adherence_pct, a.conformance_pct, a.scheduled_seconds) == (None, None, 0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Segment(datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 17), "open")
    with pytest.raises(ValueError, match="timezone-aware"):
        adherence(STANDARD_DAY, [], window_start=DAY, window_end=at(23), now=datetime(2026, 3, 2, 12))


def test_breach_candidate_is_plain_data() -> None:
    (breach,) = run(clean_events(login=(9, 4))).breaches
    assert isinstance(breach, BreachCandidate) and breach.agent == "thandi"
