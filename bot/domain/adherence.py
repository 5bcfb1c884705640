"""Schedule adherence for one agent: the in/out/neutral timeline, adherence and conformance %, and breaches.

Definitions (DESIGN.md "Domain definitions"):
- adherence % = seconds in adherence ÷ (seconds in + seconds out) × 100 over the scheduled time of the window.
  Neutral pairs and excused time leave both the numerator and the denominator; unscheduled time is in neither.
  Store ``in_seconds`` / ``counted_seconds`` as numerator / denominator so teams and days aggregate as a ratio of
  sums.
- conformance % = seconds in a working state ÷ scheduled on-queue seconds × 100 (can exceed 100: work outside
  the schedule counts, as in Genesys); excused time is removed from both.
- a breach is a maximal stretch of continuous out-of-adherence time strictly longer than its kind's threshold;
  its duration is the whole stretch. It ends when the verdict is anything but out: back in, neutral (neutral
  time is not held against anyone, and counting it would make the duration include time that was fine) or
  unscheduled (the shift ended, which is how an early logout resolves).

How time is read:
- Inputs are converted to UTC when constructed, so a shift across a DST change has its true length (aware
  datetimes sharing a ZoneInfo subtract as wall-clock times; UTC ones never do). Naive datetimes are refused.
- The agent is ``initial_state`` ("offline") until their first event: no event yet means not logged in, which
  is exactly a late login. The latest event at or before the window start gives the state the window opens in.
- Events are sorted and identical (at, state) pairs collapse; two different states at one instant resolve to
  the one that sorts last by name (arbitrary, but the same whatever order they arrived in). Events after
  ``now`` are ignored (a feed's clock running ahead of ours).
- Overlapping segments are layered: the later-starting one wins while it lasts (a meeting published on top of
  an open block), then the earlier one resumes. Adjacent segments with one activity are one segment.

Counting stops at ``now`` (or the window end); breaches are found on everything given up to ``now``, from the
earliest segment on, so a stretch that began before the window (a night shift split at midnight) keeps its true
start — and with it its identity key (agent, kind, started) — whatever window a scan uses. For that, pass the
events from before the earliest segment's start. A caller that loads only "the latest event at or before T, and
everything after" says so with ``history_from=T``: nothing before that latest event is then evaluated (no
invented "offline since the segment began"), and a shift that began before it is assumed to have been worked.
Breaches ignore excused time: excusing is a status the caller keeps on the breach row, so excusing an open
breach must not end its stretch and open a "new" one; ``excused_seconds`` says how much of it is excused.

Cost is O((segments + events) · log) per agent: everything works on interval boundaries, never per minute.

The per-minute scan, per agent (rules from ``Rules.from_config(team_config)``)::

    result = evaluate(member_id, segments, events, rules, window_start=day_start, window_end=day_end, now=now,
                      excused=excused_spans, history_from=events_loaded_from)
    for breach in result.breaches:  # upsert on breach.key = (agent, kind, started); update ended / seconds
        ...                         # and latest_state; alert from breach.alert_at on
    # KPI sample: numerator result.adherence.in_seconds, denominator result.adherence.counted_seconds
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from heapq import heappop, heappush
from itertools import islice, pairwise
from operator import attrgetter, lt

from bot.domain.adherence_rules import (
    DEFAULT_RULES,
    BreachKind,
    Rules,
    Shift,
    State,
    Verdict,
    group_shifts,
    stretch_kind,
)

ZERO = timedelta(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FOREVER = datetime.max.replace(tzinfo=UTC)
_IN, _OUT, _NEUTRAL, _EXCUSED = Verdict.IN, Verdict.OUT, Verdict.NEUTRAL, Verdict.EXCUSED


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Segment:
    """A published schedule block: ``activity`` from ``start`` to ``end`` (converted to UTC; end after start)."""

    start: datetime
    end: datetime
    activity: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start, "segment start"))
        object.__setattr__(self, "end", _utc(self.end, "segment end"))
        if self.end <= self.start:
            raise ValueError(f"segment ends ({self.end}) before it starts ({self.start})")


@dataclass(frozen=True, slots=True)
class StateEvent:
    """The agent entered ``state`` at ``at`` (converted to UTC) and stays in it until their next event."""

    at: datetime
    state: str

    def __post_init__(self) -> None:
        if self.at.tzinfo is not UTC:
            object.__setattr__(self, "at", _utc(self.at, "event at"))


@dataclass(frozen=True, slots=True)
class Interval:
    """A piece of the timeline; ``activity`` None is unscheduled time (always neutral)."""

    start: datetime
    end: datetime
    verdict: Verdict
    activity: str | None
    state: str

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class AdherenceResult:
    """Seconds over [window_start, evaluated_until), where evaluated_until = min(window_end, now).

    Invariant: scheduled = in + out + neutral + excused (all scheduled time); unscheduled is the rest.
    """

    window_start: datetime
    window_end: datetime
    evaluated_until: datetime
    scheduled_seconds: float
    in_seconds: float
    out_seconds: float
    neutral_seconds: float
    excused_seconds: float  # excused scheduled time; removed from numerator and denominator
    unscheduled_seconds: float
    on_queue_scheduled_seconds: float  # conformance denominator (excused removed)
    on_queue_worked_seconds: float  # conformance numerator: any time in a working state (excused removed)

    @property
    def counted_seconds(self) -> float:
        """The adherence denominator: scheduled time that is neither neutral nor excused."""
        return self.in_seconds + self.out_seconds

    @property
    def adherence_pct(self) -> float | None:
        """0..100; None when nothing counts (nothing scheduled yet, or all of it neutral or excused)."""
        counted = self.counted_seconds
        return None if counted <= 0 else self.in_seconds / counted * 100

    @property
    def conformance_pct(self) -> float | None:
        """0..∞ (over 100 when the agent worked more than the on-queue time scheduled); None with none scheduled."""
        planned = self.on_queue_scheduled_seconds
        return None if planned <= 0 else self.on_queue_worked_seconds / planned * 100


@dataclass(frozen=True, slots=True)
class BreachCandidate:
    """An out-of-adherence stretch past its threshold. Upsert it on ``key``: every scan yields the same key.

    ``ended`` is None while the stretch is still out at the end of what was evaluated; ``seconds`` then runs to
    ``now``. ``activity``/``state`` are what was scheduled and done when the stretch began (they fix the kind);
    ``latest_activity``/``latest_state`` are the ones at its end or at ``now`` (what the alert shows).
    """

    agent: str | int
    kind: BreachKind
    started: datetime
    ended: datetime | None
    seconds: float
    threshold_seconds: int
    activity: str
    state: str
    latest_activity: str
    latest_state: str
    excused_seconds: float

    @property
    def key(self) -> tuple[str | int, BreachKind, datetime]:
        return (self.agent, self.kind, self.started)

    @property
    def alert_at(self) -> datetime:
        """When the stretch became a breach: the threshold passed (the moment a scan first reports it)."""
        return self.started + timedelta(seconds=self.threshold_seconds)

    @property
    def is_open(self) -> bool:
        return self.ended is None


@dataclass(frozen=True, slots=True)
class Evaluation:
    adherence: AdherenceResult
    breaches: tuple[BreachCandidate, ...]


# (start, end, activity | None, state, state held since | None (unknown: before any event), verdict)
_Piece = tuple[datetime, datetime, str | None, str, datetime | None, Verdict]
_Block = tuple[datetime, datetime, str]


@dataclass(frozen=True, slots=True)
class _Sweep:
    pieces: list[_Piece]  # contiguous from the earliest segment (or window start) to now; excused not applied
    in_until: datetime | None  # assume in adherence up to here (history cut short), else None
    flat: list[_Block]  # the schedule, flattened: shifts are read from it only when a stretch needs one
    excused: list[tuple[datetime, datetime]]  # sorted, merged
    window_start: datetime
    window_end: datetime
    horizon: datetime  # min(window_end, now): where counting stops
    now: datetime


def timeline(
    segments: Iterable[Segment],
    events: Iterable[StateEvent],
    rules: Rules = DEFAULT_RULES,
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    excused: Iterable[tuple[datetime, datetime]] = (),
    initial_state: str = State.OFFLINE,
    history_from: datetime | None = None,
) -> list[Interval]:
    """The agent's verdicts covering [window_start, min(window_end, now)) without gaps, in time order.

    Excused scheduled time is EXCUSED (keeping its activity and state for display); unscheduled time stays
    neutral whether excused or not.
    """
    sweep = _run(
        segments, events, rules, window_start, window_end, now, excused, initial_state, history_from, detailed=True
    )
    spans = _Spans(sweep.excused)
    out: list[Interval] = []
    for s, e, act, state, _, verdict in _clipped(sweep):
        if act is None:
            out.append(Interval(s, e, verdict, act, state))
            continue
        for part_start, part_end, is_excused in spans.parts(s, e):
            out.append(Interval(part_start, part_end, _EXCUSED if is_excused else verdict, act, state))
    return out


def adherence(
    segments: Iterable[Segment],
    events: Iterable[StateEvent],
    rules: Rules = DEFAULT_RULES,
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    excused: Iterable[tuple[datetime, datetime]] = (),
    initial_state: str = State.OFFLINE,
    history_from: datetime | None = None,
) -> AdherenceResult:
    """Adherence and conformance seconds over [window_start, min(window_end, now)); see the module docstring."""
    return _count(
        _run(segments, events, rules, window_start, window_end, now, excused, initial_state, history_from), rules
    )


def detect_breaches(
    agent: str | int,
    segments: Iterable[Segment],
    events: Iterable[StateEvent],
    rules: Rules = DEFAULT_RULES,
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    excused: Iterable[tuple[datetime, datetime]] = (),
    initial_state: str = State.OFFLINE,
    history_from: datetime | None = None,
) -> list[BreachCandidate]:
    """Breaches whose stretch overlaps [window_start, window_end), in time order; see the module docstring."""
    sweep = _run(segments, events, rules, window_start, window_end, now, excused, initial_state, history_from)
    return _breaches(agent, sweep, rules)


def evaluate(
    agent: str | int,
    segments: Iterable[Segment],
    events: Iterable[StateEvent],
    rules: Rules = DEFAULT_RULES,
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    excused: Iterable[tuple[datetime, datetime]] = (),
    initial_state: str = State.OFFLINE,
    history_from: datetime | None = None,
) -> Evaluation:
    """``adherence`` and ``detect_breaches`` from one sweep: what the per-minute scan calls per agent."""
    sweep = _run(segments, events, rules, window_start, window_end, now, excused, initial_state, history_from)
    return Evaluation(_count(sweep, rules), tuple(_breaches(agent, sweep, rules)))


@dataclass(frozen=True, slots=True)
class BreachScan:
    breaches: tuple[BreachCandidate, ...]
    steady_until: datetime  # the answer holds until then unless the inputs change (``now``: out right now)


def scan_breaches(
    agent: str | int,
    segments: Sequence[Segment],
    events: Sequence[StateEvent],
    rules: Rules = DEFAULT_RULES,
    *,
    window_start: datetime,
    now: datetime,
    excused: Sequence[tuple[datetime, datetime]] = (),
    history_from: datetime | None = None,
) -> BreachScan:
    """``detect_breaches`` up to ``now`` (no counting), and how long that answer holds.

    With the same segments, events, excused time and rules, a later ``now`` before ``steady_until`` finds the
    same breaches (with a fixed ``window_start``): time only matters while the agent is out (a stretch grows
    towards or past its threshold: ``steady_until`` is ``now``) or when it reaches a segment's start or end, an
    excused span's edge or an event at or after ``now``. So a per-minute scan may skip an agent until then.
    """
    sweep = _run(segments, events, rules, window_start, now, now, excused, State.OFFLINE, history_from)
    found = tuple(_breaches(agent, sweep, rules))
    if sweep.pieces and sweep.pieces[-1][5] is _OUT:
        return BreachScan(found, sweep.now)
    # An edge at ``now`` itself counts: the sweep stops at ``now``, so what starts there is not in it yet.
    edges = [t for s, e, _ in sweep.flat for t in (s, e) if t >= sweep.now]
    edges += [t for s, e in sweep.excused for t in (s, e) if t >= sweep.now]
    edges += [e.at for e in events if e.at >= sweep.now]
    return BreachScan(found, min(edges, default=_FOREVER))


def shifts(segments: Iterable[Segment], rules: Rules = DEFAULT_RULES) -> list[Shift]:
    """The agent's shifts in time order (for choosing scan windows and for "scheduled until 17:00" text)."""
    return group_shifts(_flatten(segments), rules)


# ---- the sweep ------------------------------------------------------------------------------------------------

_EVENT_ORDER = attrgetter("at", "state")
_AT = attrgetter("at")


def _run(
    segments: Iterable[Segment],
    events: Iterable[StateEvent],
    rules: Rules,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    excused: Iterable[tuple[datetime, datetime]],
    initial_state: str,
    history_from: datetime | None,
    *,
    detailed: bool = False,
) -> _Sweep:
    window_start, window_end = _utc(window_start, "window_start"), _utc(window_end, "window_end")
    now = _utc(now, "now")
    if window_end < window_start:
        raise ValueError(f"window ends ({window_end}) before it starts ({window_start})")
    flat, ordered = _flatten(segments), _in_order(events)
    start = min(window_start, flat[0][0]) if flat else window_start
    known_from = None  # where a history that the caller cut short begins
    if history_from is not None and (k := bisect_right(ordered, _utc(history_from, "history_from"), key=_AT)):
        known_from = ordered[k - 1].at
        start = min(window_start, max(start, known_from))
    return _Sweep(
        pieces=_pieces(flat, ordered, start, now, initial_state, rules, detailed),
        # Cut history: we cannot tell whether the agent was in adherence before it began, so assume they were
        # rather than call a shift that started before it a late login.
        in_until=start if known_from is not None and flat and known_from > flat[0][0] else None,
        flat=flat,
        excused=_merge_spans(excused),
        window_start=window_start,
        window_end=window_end,
        horizon=max(window_start, min(window_end, now)),
        now=now,
    )


def _in_order(events: Iterable[StateEvent]) -> list[StateEvent]:
    """Events by (at, state). A store hands them over strictly by time already; checking that is cheaper than
    sorting, which builds a key per event."""
    listed = list(events)
    ats = [e.at for e in listed]
    if all(map(lt, ats, islice(ats, 1, None))):
        return listed
    return sorted(listed, key=_EVENT_ORDER)


def _flatten(segments: Iterable[Segment]) -> list[_Block]:
    """Non-overlapping blocks in time order, adjacent blocks of one activity merged."""
    blocks = sorted((s.start, s.end, s.activity) for s in segments)
    if any(b[0] < a[1] for a, b in pairwise(blocks)):
        blocks = _layer(blocks)
    merged: list[_Block] = []
    for block in blocks:
        if merged and merged[-1][2] == block[2] and merged[-1][1] == block[0]:
            merged[-1] = (merged[-1][0], block[1], block[2])
        else:
            merged.append(block)
    return merged


def _layer(blocks: list[_Block]) -> list[_Block]:
    """Resolve overlaps: the latest start wins; then the shorter block; then the activity name (determinism)."""
    bounds = sorted({t for s, e, _ in blocks for t in (s, e)})
    heap: list[tuple[timedelta, datetime, str]] = []
    out: list[_Block] = []
    i = 0
    for b0, b1 in pairwise(bounds):
        while i < len(blocks) and blocks[i][0] <= b0:
            s, e, activity = blocks[i]
            heappush(heap, (_EPOCH - s, e, activity))  # later start → smaller key → top of the heap
            i += 1
        while heap and heap[0][1] <= b0:
            heappop(heap)
        if heap:
            out.append((b0, b1, heap[0][2]))
    return out


def _regions(flat: list[_Block], start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime, str | None]]:
    """[start, end) as consecutive (from, to, activity | None) pieces: the blocks, and gaps as None."""
    t = start
    for s, e, activity in flat:
        if e <= t:
            continue
        if s >= end:
            break
        if s > t:
            yield t, s, None
            t = s
        upto = min(e, end)
        yield t, upto, activity
        t = upto
    if t < end:
        yield t, end, None


def _pieces(
    flat: list[_Block], events: Sequence[StateEvent], start: datetime, end: datetime, initial: str, rules: Rules,
    detailed: bool,
) -> list[_Piece]:  # fmt: skip
    """Walk schedule regions and state changes together; a piece ends where the activity or the state changes.

    Compact (``detailed`` False): a change between two working states inside an in-adherence piece does not end
    it (busy → available → after_work is one piece, recorded with its first state). That churn is most of a chat
    agent's events and changes neither the counts nor any breach; only the public timeline shows it.
    """
    pieces: list[_Piece] = []
    if end <= start:
        return pieces
    j, stop = bisect_right(events, start, key=_AT), bisect_left(events, end, key=_AT)
    state, since = (events[j - 1].state, events[j - 1].at) if j else (initial, None)
    unmapped, append = rules.unmapped, pieces.append
    no_steady = frozenset[str]()  # detailed, or unscheduled: every state change ends a piece
    regions = _regions(flat, start, end)
    _, r1, activity = next(regions)
    row = None if activity is None else rules.row(activity)
    verdict = _NEUTRAL if row is None else row.get(state, unmapped)
    steady = no_steady if detailed or activity is None else rules.steady_states(activity)
    cur, piece_state, piece_since = start, state, since  # the open piece: its start, first state and since

    def enter(r0: datetime, region_activity: str | None) -> None:
        nonlocal activity, row, verdict, steady, cur, piece_state, piece_since
        if region_activity == activity:
            return
        if r0 > cur:
            append((cur, r0, activity, piece_state, piece_since, verdict))
        cur, piece_state, piece_since = r0, state, since
        activity = region_activity
        row = None if activity is None else rules.row(activity)
        verdict = _NEUTRAL if row is None else row.get(state, unmapped)
        steady = no_steady if detailed or activity is None else rules.steady_states(activity)

    for event in events[j:stop]:  # the hot loop of a scan: kept flat on purpose
        t = event.at
        while t >= r1:
            r0, r1, region_activity = next(regions)
            enter(r0, region_activity)
        new = event.state
        if new == state:  # a repeat of the current state changes nothing (duplicates land here)
            continue
        if new not in steady or state not in steady:
            if t > cur:
                append((cur, t, activity, piece_state, piece_since, verdict))
                cur = t
            piece_state, piece_since = new, t
            verdict = _NEUTRAL if row is None else row.get(new, unmapped)
        state, since = new, t
    for r0, _, region_activity in regions:
        enter(r0, region_activity)
    append((cur, end, activity, piece_state, piece_since, verdict))
    return pieces


def _merge_spans(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    ordered = sorted((_utc(s, "excused start"), _utc(e, "excused end")) for s, e in spans)
    merged: list[tuple[datetime, datetime]] = []
    for s, e in ordered:
        if e < s:
            raise ValueError(f"excused span ends ({e}) before it starts ({s})")
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        elif e > s:
            merged.append((s, e))
    return merged


class _Spans:
    """Overlap of sorted, merged spans with a sequence of intervals given in non-decreasing start order."""

    def __init__(self, spans: list[tuple[datetime, datetime]]) -> None:
        self._spans = spans
        self._k = 0

    def _skip(self, start: datetime) -> int:
        k, spans = self._k, self._spans
        while k < len(spans) and spans[k][1] <= start:
            k += 1
        self._k = k
        return k

    def overlap(self, start: datetime, end: datetime) -> timedelta:
        total, spans = ZERO, self._spans
        k = self._skip(start)
        while k < len(spans) and spans[k][0] < end:
            total += min(end, spans[k][1]) - max(start, spans[k][0])
            k += 1
        return total

    def parts(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime, bool]]:
        """[start, end) split into (from, to, excused) pieces."""
        spans, t = self._spans, start
        k = self._skip(start)
        while k < len(spans) and spans[k][0] < end:
            s, e = max(start, spans[k][0]), min(end, spans[k][1])
            if s > t:
                yield t, s, False
            yield s, e, True
            t = e
            k += 1
        if t < end:
            yield t, end, False


# ---- counting and breaches --------------------------------------------------------------------------------------


def _clipped(sweep: _Sweep) -> Iterator[_Piece]:
    lo, hi = sweep.window_start, sweep.horizon
    if lo >= hi:  # an empty window has no pieces (not one of length zero)
        return
    for piece in sweep.pieces:
        s, e = piece[0], piece[1]
        if e <= lo:
            continue
        if s >= hi:
            break
        yield max(s, lo), min(e, hi), piece[2], piece[3], piece[4], piece[5]


def _count(sweep: _Sweep, rules: Rules) -> AdherenceResult:
    ins = outs = neutral = excused = unscheduled = on_queue = worked = gone = ZERO
    lo, hi = sweep.window_start, sweep.horizon
    spans = _Spans(sweep.excused) if sweep.excused else None
    working, queue, is_in, is_out = rules.working_states, rules.on_queue_activities, _IN, _OUT
    for s, e, activity, state, _, verdict in sweep.pieces:  # the hot loop of a scan: kept flat on purpose
        if e <= lo:
            continue
        if s >= hi:
            break
        if s < lo:
            s = lo
        if e > hi:
            e = hi
        span = e - s
        if spans is not None:
            gone = spans.overlap(s, e)
            span -= gone
        if state in working:
            worked += span
        if activity is None:
            unscheduled += span + gone
            continue
        excused += gone
        if verdict is is_in:
            ins += span
        elif verdict is is_out:
            outs += span
        else:
            neutral += span
        if activity in queue:
            on_queue += span
    return AdherenceResult(
        window_start=sweep.window_start,
        window_end=sweep.window_end,
        evaluated_until=hi,
        scheduled_seconds=(ins + outs + neutral + excused).total_seconds(),
        in_seconds=ins.total_seconds(),
        out_seconds=outs.total_seconds(),
        neutral_seconds=neutral.total_seconds(),
        excused_seconds=excused.total_seconds(),
        unscheduled_seconds=unscheduled.total_seconds(),
        on_queue_scheduled_seconds=on_queue.total_seconds(),
        on_queue_worked_seconds=worked.total_seconds(),
    )


def _breaches(agent: str | int, sweep: _Sweep, rules: Rules) -> list[BreachCandidate]:
    found: list[BreachCandidate] = []
    spans = _Spans(sweep.excused)
    shift_list: list[Shift] | None = None
    si = 0
    last_in = sweep.in_until  # end of the latest in-adherence piece so far
    prev: _Piece | None = None
    first: _Piece | None = None  # first and last piece of the current out stretch
    last: _Piece | None = None
    kind = BreachKind.OUT_OF_ADHERENCE

    def close(ended: datetime | None) -> None:
        assert first is not None and last is not None
        started, upto = first[0], ended or sweep.now
        threshold = rules.thresholds[kind]
        seconds = (upto - started).total_seconds()
        if seconds <= threshold or upto <= sweep.window_start or started >= sweep.window_end:
            return
        found.append(
            BreachCandidate(
                agent=agent,
                kind=kind,
                started=started,
                ended=ended,
                seconds=seconds,
                threshold_seconds=threshold,
                activity=first[2] or "",
                state=first[3],
                latest_activity=last[2] or "",
                latest_state=last[3],
                excused_seconds=spans.overlap(started, upto).total_seconds(),
            )
        )

    for piece in sweep.pieces:
        if piece[5] is _OUT:
            if first is None:
                t = piece[0]
                if shift_list is None:
                    shift_list = group_shifts(sweep.flat, rules)
                while si < len(shift_list) and shift_list[si].end <= t:
                    si += 1
                shift = shift_list[si] if si < len(shift_list) and shift_list[si].start <= t else None
                before = None if prev is None else prev[2]
                kind = stretch_kind(piece[0], piece[2], piece[3], piece[4], before, shift, last_in, rules)
                first = piece
            last = piece
        else:
            if first is not None:
                close(piece[0])
                first = None
            if piece[5] is _IN:
                last_in = piece[1]
        prev = piece
    if first is not None:
        close(None)
    return found
