"""The adherence scan: every minute, evaluate every scheduled agent, keep one breach row per out-of-adherence
stretch, and keep its one Slack message current (posted once, updated in place, resolved in place)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from bot.deps import Deps
from bot.domain.adherence import BreachCandidate, Segment, scan_breaches
from bot.domain.adherence_policy import AdherencePolicy, team_policy
from bot.domain.adherence_rules import Rules
from bot.services.adherence_alerts import announce, escalate, queue_update, view_of
from bot.store.adherence import AgentDay, group_by_team, load_agent_days
from bot.store.adherence_cache import cache_for, load_scan_days
from bot.store.tables import Breach, Member, Team

log = logging.getLogger(__name__)
LOOKBACK = timedelta(hours=16)  # long enough for any shift in progress, short enough to stay cheap
WITHDRAWN = "withdrawn"
WITHDRAWABLE = ("open", "acknowledged")


@dataclass
class ScanResult:
    agents: int = 0
    opened: int = 0
    updated: int = 0
    resolved: int = 0
    withdrawn: int = 0  # open alerts the engine no longer finds (a re-published schedule, late states)
    escalated: int = 0
    batched: int = 0
    skipped: int = 0  # agents not evaluated again: nothing changed for them since the last scan
    teams: dict[int, int] = field(default_factory=dict)  # team id -> open breaches now


async def scan_adherence(deps: Deps, *, team_ids: list[int] | None = None) -> ScanResult:
    async with deps.scan_lock:
        return await _scan(deps, team_ids)


# Scan locks with a scan queued behind them (asked for by ingest, not started yet).
_queued: weakref.WeakSet[asyncio.Lock] = weakref.WeakSet()


async def scan_after_ingest(deps: Deps) -> ScanResult | None:
    """Scan because new states arrived; None when a scan already waiting to start will read them anyway.

    A feed posting a batch every second must not pile up a scan per batch behind a running one: the scan that
    is waiting has not read anything yet, so it sees every event committed before it starts.
    """
    lock = deps.scan_lock
    if lock in _queued:
        return None
    _queued.add(lock)
    started = False
    try:
        async with lock:
            _queued.discard(lock)  # from here on, new events need a scan of their own
            started = True
            return await _scan(deps, None)
    finally:
        if not started:  # cancelled while waiting: let the next ingest queue one
            _queued.discard(lock)


@dataclass(slots=True)
class _Seen:
    """An agent's inputs at their last evaluation, and until when the answer holds (``scan_breaches``)."""

    segments: list[Segment]
    events: int  # how many events it was given (the cache says which agents' events changed otherwise)
    excused: list[tuple[datetime, datetime]]
    rules: Rules
    steady_until: datetime


# Per database, this process's memory of each agent's last evaluation: an agent whose inputs did not change and
# whose answer still holds is not evaluated again (most agents, most minutes: in adherence, nothing new).
_seen: weakref.WeakKeyDictionary[AsyncEngine, dict[int, _Seen]] = weakref.WeakKeyDictionary()


@dataclass
class _Pass:
    """One scan's shared state."""

    session: AsyncSession
    known: dict[tuple[int, str, datetime], Breach]
    names: dict[int, str]
    now: datetime
    start: datetime
    result: ScanResult
    seen: dict[int, _Seen] | None  # None: evaluate everyone (a scan of some teams, without the cache)
    changed: set[int]  # agents whose events changed since the last scan


async def _scan(deps: Deps, team_ids: list[int] | None) -> ScanResult:
    now = deps.clock.now()
    start = now - LOOKBACK
    result = ScanResult()
    seen: dict[int, _Seen] | None = None
    changed: set[int] = set()
    async with deps.sessions() as session:
        end = now + timedelta(seconds=1)
        if team_ids is None:  # every team: the process's caches serve it
            cache = cache_for(deps.engine)
            days = await load_scan_days(session, cache, start=start, end=end, ahead=LOOKBACK)
            seen, changed = _seen.setdefault(deps.engine, {}), cache.events.changed
        else:
            days = await load_agent_days(session, start=start, end=end, team_ids=team_ids, ahead=LOOKBACK)
        if not days and not await _any_standing(session, start, team_ids):
            return result  # nobody scheduled near now, no alert to stand down: nothing to do
        teams = {t.id: t for t in (await session.execute(select(Team))).scalars()}
        names = {i: n for i, n in (await session.execute(select(col(Member.id), col(Member.name)))).all() if i}
        # A stretch that ended before the window cannot come up again (the engine reports only stretches that
        # reach into it), so its row is not needed here.
        rows = await session.execute(
            select(Breach).where(
                col(Breach.started_at) >= start - LOOKBACK,
                or_(col(Breach.ended_at).is_(None), col(Breach.ended_at) > start),
            )
        )
        known: dict[tuple[int, str, datetime], Breach] = {}
        by_team: dict[int, list[Breach]] = defaultdict(list)  # escalation and counts go team by team
        for b in rows.scalars():
            known[b.member_id, b.kind, b.started_at] = b
            by_team[b.team_id].append(b)
        scan = _Pass(session, known, names, now, start, result, seen, changed)
        team_agents = group_by_team(days)
        for team_id, alerts in by_team.items():  # a team whose every alerted agent has left the schedule
            if (team_ids is None or team_id in team_ids) and any(b.ended_at is None for b in alerts):
                team_agents.setdefault(team_id, [])
        try:
            for team_id, agents in team_agents.items():
                team = teams[team_id]
                try:
                    policy = team_policy(team.adherence)
                except ValueError as exc:
                    log.error("team %s has invalid adherence settings (%s); using defaults", team_id, exc)
                    policy = team_policy(None)
                await _scan_team(scan, team, agents, policy, by_team[team_id])
                result.agents += len(agents)
            await session.commit()
        except BaseException:
            if seen is not None:
                seen.clear()  # what this scan saw was not acted on: evaluate everyone next time
            raise
    deps.outbox_ready.send()
    return result


async def _any_standing(session: AsyncSession, start: datetime, team_ids: list[int] | None) -> bool:
    query = select(col(Breach.id)).where(
        col(Breach.ended_at).is_(None), col(Breach.status).in_(WITHDRAWABLE), col(Breach.started_at) >= start
    )
    if team_ids is not None:
        query = query.where(col(Breach.team_id).in_(team_ids))
    return (await session.execute(query.limit(1))).first() is not None


def _unchanged(scan: _Pass, agent: AgentDay, rules: Rules) -> bool:
    if scan.seen is None or agent.member_id in scan.changed:
        return False
    last = scan.seen.get(agent.member_id)
    return (
        last is not None
        and scan.now < last.steady_until
        and last.rules is rules
        and last.events == len(agent.events)
        and last.segments == agent.segments
        and last.excused == agent.excused
    )


async def _scan_team(
    scan: _Pass, team: Team, agents: list[AgentDay], policy: AdherencePolicy, mine: list[Breach]
) -> None:
    """``mine``: the team's rows in ``scan.known``."""
    session, known, result, now = scan.session, scan.known, scan.result, scan.now
    fresh: list[Breach] = []
    # Open alerts whose whole stretch lies in the window: the engine reports them again while they still stand.
    standing: dict[int, list[Breach]] = defaultdict(list)
    for b in mine:
        if b.ended_at is None and b.status in WITHDRAWABLE and b.started_at >= scan.start:
            standing[b.member_id].append(b)
    for agent in agents:
        if _unchanged(scan, agent, policy.rules):
            result.skipped += 1
            continue
        found = scan_breaches(
            agent.member_id,
            agent.segments,
            agent.events,
            policy.rules,
            window_start=scan.start,
            now=now,
            history_from=scan.start,
        )
        if scan.seen is not None:
            scan.seen[agent.member_id] = _Seen(
                agent.segments, len(agent.events), agent.excused, policy.rules, found.steady_until
            )
        reported = {(c.kind.value, c.started) for c in found.breaches}
        for alert in standing.get(agent.member_id, ()):
            if (alert.kind, alert.started_at) not in reported:
                await _withdraw(session, alert, scan.names, team, now)
                result.withdrawn += 1
        for c in found.breaches:
            row = known.get((agent.member_id, c.kind.value, c.started))
            if row is None:
                row = _new_row(agent, team, c)
                session.add(row)
                known[(agent.member_id, c.kind.value, c.started)] = row
                mine.append(row)
                fresh.append(row)
                continue
            if await _refresh(session, row, c, scan.names, team, now, result):
                result.updated += 1
    scheduled = {agent.member_id for agent in agents}
    for member_id, alerts in standing.items():  # taken off the schedule altogether (a day off re-published)
        if member_id not in scheduled:
            for alert in alerts:
                await _withdraw(session, alert, scan.names, team, now)
                result.withdrawn += 1
    if fresh:  # their ids name their messages; other changes are flushed with the commit
        await session.flush()
    posted, batched = await announce(session, team, fresh, policy, scan.names, now)
    result.opened, result.batched = result.opened + posted + batched, result.batched + batched
    result.escalated += await escalate(session, team, policy, mine, scan.names, now)
    result.teams[team.id or 0] = sum(1 for b in mine if b.ended_at is None)


def _new_row(agent: AgentDay, team: Team, c: BreachCandidate) -> Breach:
    return Breach(
        member_id=agent.member_id,
        team_id=agent.team_id,
        kind=c.kind.value,
        started_at=c.started,
        ended_at=c.ended,
        scheduled_activity=c.latest_activity,
        actual_state=c.latest_state,
        status="open" if c.ended is None else "resolved",
    )


async def _withdraw(session: AsyncSession, row: Breach, names: dict[int, str], team: Team, now: datetime) -> None:
    """The stretch is no longer a breach — the schedule was re-published or late states changed it — so its alert
    stands down: closed, left out of open counts and escalation, and its message says so in place. An excused
    alert is left as it is: its excusal is what the engine reads."""
    row.status, row.ended_at = WITHDRAWN, now
    await queue_update(session, row, view_of(row, names, team, now), team, now)


async def _refresh(
    session: AsyncSession,
    row: Breach,
    c: BreachCandidate,
    names: dict[int, str],
    team: Team,
    now: datetime,
    result: ScanResult,
) -> bool:
    """Bring the row up to date and queue the message update. The update's key is what it shows (minutes,
    status…), so a rescan that would show the same thing queues nothing."""
    if row.ended_at is not None and (row.scheduled_activity, row.actual_state) == (c.latest_activity, c.latest_state):
        return False  # ended before this scan and nothing new: its message already says all there is
    if row.ended_at is None and c.ended is not None:
        row.ended_at = c.ended
        if row.status == "open":
            row.status = "resolved"
        result.resolved += 1
    if (row.scheduled_activity, row.actual_state) != (c.latest_activity, c.latest_state):
        row.scheduled_activity, row.actual_state = c.latest_activity, c.latest_state
    return await queue_update(session, row, view_of(row, names, team, now), team, now)
