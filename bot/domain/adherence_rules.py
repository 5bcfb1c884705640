"""Adherence rules: which agent state counts as in, out of or neutral to each scheduled activity, and how long
an agent may be out before it is a breach.

The model is Calabrio's (reference/market-and-domain.md §5): a matrix (scheduled activity × agent state) →
in | out | neutral, neutral pairs counting neither way, plus Verint-style "out for more than X" thresholds, here
per breach kind, in seconds. Activities and states are plain lower-case names (the ingest normalises vendor
names); the vocabulary below is a non-voice team's, and a team may declare more in org.yml.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType


class Verdict(StrEnum):
    IN = "in"
    OUT = "out"
    NEUTRAL = "neutral"  # counts neither way: out of the adherence numerator and denominator
    EXCUSED = "excused"  # a lead excused it; only ever set by the engine, never by a rule


class BreachKind(StrEnum):
    LATE_LOGIN = "late_login"  # not yet in adherence since the shift's first working block started
    EARLY_LOGOUT = "early_logout"  # offline during the shift's last working block
    OUT_OF_ADHERENCE = "out_of_adherence"  # any other out stretch
    LONG_BREAK = "long_break"  # the break/lunch ended but the agent carried on as they were
    UNSCHEDULED_OFFLINE = "unscheduled_offline"  # offline mid-shift, with working blocks still to come


class Activity(StrEnum):
    """What the schedule says; ``open`` is on-queue time (vendors also say available or workstream)."""

    OPEN = "open"
    BREAK = "break"
    LUNCH = "lunch"
    MEETING = "meeting"
    TRAINING = "training"
    COACHING = "coaching"
    OFFLINE = "offline"  # scheduled off (a day off published as a segment): not part of any shift


class State(StrEnum):
    """What the agent is doing, from the WFM or helpdesk presence feed."""

    AVAILABLE = "available"
    BUSY = "busy"  # handling a chat, email or ticket
    AFTER_WORK = "after_work"  # wrap-up
    BREAK = "break"
    LUNCH = "lunch"
    MEETING = "meeting"
    TRAINING = "training"
    COACHING = "coaching"
    AWAY = "away"
    OFFLINE = "offline"


IN, OUT, NEUTRAL = Verdict.IN, Verdict.OUT, Verdict.NEUTRAL
_NO_ROW: Mapping[str, Verdict] = MappingProxyType({})
_WORKING: tuple[str, ...] = (State.AVAILABLE, State.BUSY, State.AFTER_WORK)
_OFF_QUEUE: tuple[str, ...] = (State.MEETING, State.TRAINING, State.COACHING)
_RESTING: tuple[str, ...] = (State.BREAK, State.LUNCH, State.AWAY)


def _row(working: Verdict, resting: Verdict, offline: Verdict, off_queue: Verdict) -> dict[str, Verdict]:
    row: dict[str, Verdict] = (
        dict.fromkeys(_WORKING, working) | dict.fromkeys(_RESTING, resting) | dict.fromkeys(_OFF_QUEUE, off_queue)
    )
    return row | {State.OFFLINE: offline}


# Why each default, for a non-voice (chat, email, tickets) team:
# - open: a meeting or coaching the lead pulls an agent into is neutral, not a breach.
# - break / lunch: any resting state is in (break vs lunch is payroll's concern, not timing's). Logged off is
#   neutral: chat agents often log out over lunch, which is not a timing failure, yet we cannot see that they
#   rest. Working through a break is neutral too: no customer is harmed, and taking the break later shows up as
#   out time on the open block it is taken from. Set "break": {"available": "out"} for strict timing.
# - meeting / training / coaching: any of the three states is in (agents pick the wrong one); working instead is
#   out (the business scheduled them off the queue, often with other people); logged off is neutral, since a
#   training room or a coaching room is often away from the desk.
# - offline (scheduled off): nothing counts. Time with no segment at all is neutral too (never in the matrix).
DEFAULT_MATRIX: Mapping[str, Mapping[str, Verdict]] = {
    #                   available/busy/after_work, break/lunch/away, offline, meeting/training/coaching
    Activity.OPEN: _row(IN, OUT, OUT, NEUTRAL),
    Activity.BREAK: _row(NEUTRAL, IN, NEUTRAL, NEUTRAL),
    Activity.LUNCH: _row(NEUTRAL, IN, NEUTRAL, NEUTRAL),
    Activity.MEETING: _row(OUT, OUT, NEUTRAL, IN),
    Activity.TRAINING: _row(OUT, OUT, NEUTRAL, IN),
    Activity.COACHING: _row(OUT, OUT, NEUTRAL, IN),
    Activity.OFFLINE: _row(NEUTRAL, NEUTRAL, NEUTRAL, NEUTRAL),
}

# Seconds an agent may be continuously out before the stretch is a breach (strictly longer than this).
DEFAULT_THRESHOLDS: Mapping[BreachKind, int] = {
    BreachKind.LATE_LOGIN: 180,
    BreachKind.EARLY_LOGOUT: 300,
    BreachKind.OUT_OF_ADHERENCE: 300,
    BreachKind.LONG_BREAK: 300,
    BreachKind.UNSCHEDULED_OFFLINE: 300,
}


_SET_KEYS = ("working_states", "offline_states", "on_queue_activities", "break_activities", "off_activities")


@dataclass(frozen=True, slots=True)
class Rules:
    """One team's adherence rules. Build it with ``Rules.from_config`` from org.yml; ``DEFAULT_RULES`` otherwise.

    Attributes:
        matrix: activity → state → verdict (in | out | neutral).
        thresholds: seconds per breach kind; a stretch must be strictly longer to be a breach.
        working_states: states that are work on the queue: conformance's numerator.
        offline_states: states that mean logged off: early_logout / unscheduled_offline rather than generic out.
        on_queue_activities: activities that are scheduled queue time: conformance's denominator, and the
            "working blocks" that late login and early logout are measured against.
        break_activities: activities whose overrun is a long_break.
        off_activities: scheduled-off activities: not part of any shift.
        unmapped: the verdict of a pair the matrix does not name (an unknown activity or state); neutral by
            default so unclassified data neither alerts nor moves anyone's %, like NICE's "unmapped" flag.
        shift_gap_seconds: segments with a gap up to this long (an unpaid lunch left out of the export) belong to
            one shift; a longer gap starts a new shift (a split shift gets its own late login).
    """

    matrix: Mapping[str, Mapping[str, Verdict]]
    thresholds: Mapping[BreachKind, int]
    working_states: frozenset[str] = frozenset(_WORKING)
    offline_states: frozenset[str] = frozenset({State.OFFLINE})
    on_queue_activities: frozenset[str] = frozenset({Activity.OPEN})
    break_activities: frozenset[str] = frozenset({Activity.BREAK, Activity.LUNCH})
    off_activities: frozenset[str] = frozenset({Activity.OFFLINE})
    unmapped: Verdict = Verdict.NEUTRAL
    shift_gap_seconds: int = 3600
    # Lookup tables for the engine's hot loop: plain dicts (a mappingproxy's get is twice as slow).
    _rows: dict[str, dict[str, Verdict]] = field(init=False, repr=False, compare=False)
    _steady: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Plain-str keys (not enum members) so reprs, error messages and the DB see "open", not Activity.OPEN.
        # Verdict members, not "in" strings, because the engine compares them by identity.
        frozen = {
            str(a): MappingProxyType({str(s): _verdict(f"matrix.{a}.{s}", v) for s, v in row.items()})
            for a, row in self.matrix.items()
        }
        object.__setattr__(self, "unmapped", _verdict("unmapped", self.unmapped))
        missing = [k.value for k in BreachKind if k not in self.thresholds]
        if missing:
            raise ValueError(f"adherence rules: thresholds missing for {missing}")
        thresholds = {BreachKind(k): _seconds(f"thresholds.{k}", v) for k, v in self.thresholds.items()}
        _seconds("shift_gap", self.shift_gap_seconds)
        object.__setattr__(self, "matrix", MappingProxyType(frozen))
        object.__setattr__(self, "thresholds", MappingProxyType(thresholds))
        for name in _SET_KEYS:
            object.__setattr__(self, name, frozenset(str(n) for n in getattr(self, name)))
        rows = {a: dict(row) for a, row in frozen.items()}
        steady = {a: frozenset(s for s in self.working_states if row.get(s) is IN) for a, row in rows.items()}
        object.__setattr__(self, "_rows", rows)
        object.__setattr__(self, "_steady", steady)

    def row(self, activity: str) -> Mapping[str, Verdict]:
        """``activity``'s verdict per state (empty when the matrix does not name it; look up with ``unmapped``)."""
        return self._rows.get(activity, _NO_ROW)

    def steady_states(self, activity: str) -> frozenset[str]:
        """Working states that are in adherence on ``activity``: moving between them changes no count and no
        breach, so the engine need not split time there."""
        return self._steady.get(activity, frozenset())

    def verdict(self, activity: str | None, state: str) -> Verdict:
        """Unscheduled time (``activity`` None) is always neutral; it is not in anyone's denominator."""
        return NEUTRAL if activity is None else self.row(activity).get(state, self.unmapped)

    @classmethod
    def from_config(cls, config: Mapping[str, object] | None, *, base: Rules | None = None) -> Rules:
        """Rules from a plain dict as written in org.yml, laid over ``base`` (``DEFAULT_RULES``).

        ``{"matrix": {"open": {"break": "out"}}, "thresholds": {"late_login": 120}}`` changes one cell and one
        threshold and keeps every other default. New names must be declared first (``"states": ["project"]``,
        ``"activities": ["email"]``) so that a typo such as ``brake`` is an error, not a silently dead rule. The
        set-valued keys (``working_states`` …) replace the default set. Raises ValueError naming the bad key.
        """
        return _from_config(config or {}, base or DEFAULT_RULES)


@dataclass(frozen=True, slots=True)
class Shift:
    """Schedule blocks at most ``Rules.shift_gap_seconds`` apart (scheduled-off activities left out).

    ``first_work`` / ``last_work``: start of the first / last on-queue block (on a shift with none, of the first /
    last block that is not a break). Late login is measured from the first; going offline within the last is an
    early logout.
    """

    start: datetime
    end: datetime
    first_work: datetime | None
    last_work: datetime | None


def group_shifts(blocks: Iterable[tuple[datetime, datetime, str]], rules: Rules) -> list[Shift]:
    """Shifts from (start, end, activity) blocks that are sorted and do not overlap."""
    gap = timedelta(seconds=rules.shift_gap_seconds)
    groups: list[list[tuple[datetime, datetime, str]]] = []
    for block in blocks:
        if block[2] in rules.off_activities:
            continue
        if groups and block[0] - groups[-1][-1][1] <= gap:
            groups[-1].append(block)
        else:
            groups.append([block])
    out = []
    for group in groups:
        work = [b[0] for b in group if b[2] in rules.on_queue_activities]
        work = work or [b[0] for b in group if b[2] not in rules.break_activities]
        out.append(Shift(group[0][0], group[-1][1], work[0] if work else None, work[-1] if work else None))
    return out


def stretch_kind(
    start: datetime,
    activity: str | None,
    state: str,
    state_since: datetime | None,
    previous_activity: str | None,
    shift: Shift | None,
    last_in: datetime | None,
    rules: Rules,
) -> BreachKind:
    """The kind of an out stretch, from how it began, so the kind (part of the breach key) never changes later.

    Args:
        start: when the stretch began; ``activity`` / ``state``: scheduled and actual then.
        state_since: when the agent entered ``state`` (None: before any event we have).
        previous_activity: the scheduled activity just before ``start`` (None: unscheduled).
        shift: the shift containing ``start``; ``last_in``: end of the agent's latest in-adherence time.

    In order: not once in adherence since the shift's work began → late_login (a no-show stays late_login after
    a neutral break, too); a break or lunch just ended and the agent is still as they were → long_break (logged
    off over lunch and not back is a long lunch, not an early logout); logged off in the shift's last working
    block → early_logout, earlier → unscheduled_offline (we cannot know yet whether they will be back: a kind
    that waited to find out would change the key mid-stretch); anything else → out_of_adherence.
    """
    work_began = None if shift is None else shift.first_work
    if work_began is not None and start >= work_began and (last_in is None or last_in <= work_began):
        return BreachKind.LATE_LOGIN
    carried = state_since is None or state_since < start
    if previous_activity in rules.break_activities and previous_activity != activity and carried:
        return BreachKind.LONG_BREAK
    if state in rules.offline_states:
        if shift is not None and shift.last_work is not None and start >= shift.last_work:
            return BreachKind.EARLY_LOGOUT
        return BreachKind.UNSCHEDULED_OFFLINE
    return BreachKind.OUT_OF_ADHERENCE


_KIND_NAMES = frozenset(k.value for k in BreachKind)
RULE_KEYS = frozenset({"matrix", "thresholds", "states", "activities", "unmapped", "shift_gap", *_SET_KEYS})


def _bad(key: str, message: str) -> ValueError:
    return ValueError(f"adherence rules: {key}: {message}")


def _names(config: Mapping[str, object], key: str) -> list[str]:
    value = config.get(key, [])
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise _bad(key, "expected a list of names")
    return [v.lower() for v in value]


def _verdict(key: str, value: object) -> Verdict:
    if value not in _RULE_VERDICTS:
        raise _bad(key, f"{value!r} is not one of in, out, neutral")
    return Verdict(value)


def _seconds(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(key, f"{value!r} is not a whole number of seconds ≥ 0")
    return value


_RULE_VERDICTS = ("in", "out", "neutral")  # a tuple: a YAML list or dict here must fail cleanly, not unhashably
_PLURAL = {"state": "states", "activity": "activities"}


def _known(key: str, name: str, known: set[str], kind: str) -> str:
    if name not in known:
        raise _bad(
            key, f"unknown {kind} {name!r}; declare it under '{_PLURAL[kind]}' (known: {', '.join(sorted(known))})"
        )
    return name


def _from_config(config: Mapping[str, object], base: Rules) -> Rules:
    if not isinstance(config, Mapping):
        raise ValueError("adherence rules: expected a mapping")
    unknown = sorted(set(config) - RULE_KEYS)
    if unknown:
        raise _bad(unknown[0], f"unknown key (known: {', '.join(sorted(RULE_KEYS))})")
    activities = set(base.matrix) | set(base.on_queue_activities | base.break_activities | base.off_activities)
    activities |= set(_names(config, "activities"))
    states = {s for row in base.matrix.values() for s in row} | set(base.working_states | base.offline_states)
    states |= set(_names(config, "states"))

    matrix = {a: dict(row) for a, row in base.matrix.items()}
    raw_matrix = config.get("matrix", {})
    if not isinstance(raw_matrix, Mapping):
        raise _bad("matrix", "expected activity: {state: in|out|neutral}")
    for activity, row in raw_matrix.items():
        a_key = f"matrix.{activity}"
        activity = _known(a_key, str(activity).lower(), activities, "activity")
        if not isinstance(row, Mapping):
            raise _bad(a_key, "expected {state: in|out|neutral}")
        cells = matrix.setdefault(activity, {})
        for state, value in row.items():
            s_key = f"{a_key}.{state}"
            cells[_known(s_key, str(state).lower(), states, "state")] = _verdict(s_key, value)

    thresholds = dict(base.thresholds)
    raw_thresholds = config.get("thresholds", {})
    if not isinstance(raw_thresholds, Mapping):
        raise _bad("thresholds", "expected kind: seconds")
    for kind, value in raw_thresholds.items():
        if kind not in _KIND_NAMES:
            raise _bad(f"thresholds.{kind}", f"unknown breach kind (known: {', '.join(BreachKind)})")
        thresholds[BreachKind(kind)] = _seconds(f"thresholds.{kind}", value)

    sets = {key: getattr(base, key) for key in _SET_KEYS}
    for key in _SET_KEYS:
        if key in config:
            known, kind = (states, "state") if key.endswith("states") else (activities, "activity")
            sets[key] = frozenset(_known(key, n, known, kind) for n in _names(config, key))
    return Rules(
        matrix=matrix,
        thresholds=thresholds,
        working_states=sets["working_states"],
        offline_states=sets["offline_states"],
        on_queue_activities=sets["on_queue_activities"],
        break_activities=sets["break_activities"],
        off_activities=sets["off_activities"],
        unmapped=_verdict("unmapped", config["unmapped"]) if "unmapped" in config else base.unmapped,
        shift_gap_seconds=_seconds("shift_gap", config["shift_gap"])
        if "shift_gap" in config
        else base.shift_gap_seconds,
    )


DEFAULT_RULES = Rules(matrix=DEFAULT_MATRIX, thresholds=DEFAULT_THRESHOLDS)
