"""The adherence scan: every minute, evaluate every scheduled agent, keep one breach row per out-of-adherence
stretch, and keep its one Slack message current (posted once, updated in place, resolved in place)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.blocks.adherence import BreachView, render_batch, render_breach
from bot.deps import Deps
from bot.domain.adherence import BreachCandidate, Segment, StateEvent, evaluate
from bot.domain.adherence_policy import AdherencePolicy, parse_policy
from bot.store import outbox
from bot.store.adherence import AgentDay, group_by_team, load_agent_days
from bot.store.tables import Breach, Member, Team, TeamOversight

log = logging.getLogger(__name__)
LOOKBACK = timedelta(hours=16)  # long enough for any shift in progress, short enough to stay cheap


@dataclass
class ScanResult:
    agents: int = 0
    opened: int = 0
    updated: int = 0
    resolved: int = 0
    escalated: int = 0
    batched: int = 0
    teams: dict[int, int] = field(default_factory=dict)  # team id -> open breaches now


def breach_view(b: Breach, name: str, team: Team, now: datetime, acted_by: str | None = None) -> BreachView:
    end = b.ended_at or now
    return BreachView(
        breach_id=b.id or 0,
        agent_name=name,
        kind=b.kind,
        started=b.started_at.astimezone(ZoneInfo(team.timezone)),
        minutes=int((end - b.started_at).total_seconds() // 60),
        scheduled=b.scheduled_activity,
        actual=b.actual_state,
        status=b.status,
        ended=b.ended_at is not None,
        acted_by=acted_by,
        reason=b.reason_code,
        escalated=b.escalated_at is not None,
    )


async def scan_adherence(deps: Deps, *, team_ids: list[int] | None = None) -> ScanResult:
    async with deps.scan_lock:
        return await _scan(deps, team_ids)


async def _scan(deps: Deps, team_ids: list[int] | None) -> ScanResult:
    now = deps.clock.now()
    start = now - LOOKBACK
    result = ScanResult()
    async with deps.sessions() as session:
        days = await load_agent_days(session, start=start, end=now + timedelta(seconds=1), team_ids=team_ids)
        if not days:
            return result
        teams = {t.id: t for t in (await session.execute(select(Team))).scalars()}
        names = {i: n for i, n in (await session.execute(select(col(Member.id), col(Member.name)))).all() if i}
        known = {
            (b.member_id, b.kind, b.started_at): b
            for b in (await session.execute(select(Breach).where(col(Breach.started_at) >= start - LOOKBACK))).scalars()
        }
        for team_id, agents in group_by_team(days).items():
            team = teams[team_id]
            try:
                policy = parse_policy(team.adherence)
            except ValueError as exc:
                log.error("team %s has invalid adherence settings (%s); using defaults", team_id, exc)
                policy = parse_policy(None)
            await _scan_team(session, deps, team, agents, policy, known, names, now, start, result)
            result.agents += len(agents)
        await session.commit()
    deps.outbox_ready.send()
    return result


async def _scan_team(
    session: AsyncSession,
    deps: Deps,
    team: Team,
    agents: list[AgentDay],
    policy: AdherencePolicy,
    known: dict[tuple[int, str, datetime], Breach],
    names: dict[int, str],
    now: datetime,
    start: datetime,
    result: ScanResult,
) -> None:
    fresh: list[Breach] = []
    for agent in agents:
        evaluation = evaluate(
            agent.member_id,
            [Segment(s, e, a) for s, e, a in agent.segments],
            [StateEvent(at, state) for at, state in agent.events],
            policy.rules,
            window_start=start,
            window_end=now,
            now=now,
            history_from=start,
        )
        for c in evaluation.breaches:
            row = known.get((agent.member_id, c.kind.value, c.started))
            if row is None:
                row = _new_row(agent, team, c)
                session.add(row)
                known[(agent.member_id, c.kind.value, c.started)] = row
                fresh.append(row)
                continue
            if await _refresh(session, deps, row, c, names, team, now, result):
                result.updated += 1
    await session.flush()
    await _announce(session, team, fresh, policy, names, now, result)
    await _escalate(session, team, policy, known, names, now, result)
    result.teams[team.id or 0] = sum(1 for b in known.values() if b.team_id == team.id and b.ended_at is None)


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


async def _refresh(
    session: AsyncSession,
    deps: Deps,
    row: Breach,
    c: BreachCandidate,
    names: dict[int, str],
    team: Team,
    now: datetime,
    result: ScanResult,
) -> bool:
    """Bring the row up to date and queue the message update. The update's key is what it shows (minutes,
    status…), so a rescan that would show the same thing queues nothing."""
    if row.ended_at is None and c.ended is not None:
        row.ended_at = c.ended
        if row.status == "open":
            row.status = "resolved"
        result.resolved += 1
    row.scheduled_activity, row.actual_state = c.latest_activity, c.latest_state
    return await queue_update(session, row, breach_view(row, names.get(row.member_id, "?"), team, now), team, now)


def shown(view: BreachView) -> str:
    """What a breach message displays, as a short signature: a new one means the message needs an update."""
    return f"{view.minutes}:{view.status}:{int(view.ended)}:{int(view.escalated)}:{view.acted_by or ''}"


async def queue_update(session: AsyncSession, row: Breach, view: BreachView, team: Team, now: datetime) -> bool:
    """Edit the breach's message in place (the outbox waits for the original's ts); True when newly queued."""
    if not row.message_key or not team.channel_id or row.shown == shown(view):
        return False
    named = team.privacy_mode != "counts"
    row.shown = shown(view)
    key = f"{row.message_key}:u:{row.shown}"
    return await outbox.enqueue(
        session,
        key=key,
        channel=team.channel_id,
        kind="update",
        update_of=row.message_key,
        now=now,
        payload=render_breach(view, named=named),
    )


async def _announce(
    session: AsyncSession,
    team: Team,
    fresh: list[Breach],
    policy: AdherencePolicy,
    names: dict[int, str],
    now: datetime,
    result: ScanResult,
) -> None:
    if not fresh or not team.channel_id:
        return
    named = team.privacy_mode != "counts"
    fresh.sort(key=lambda b: b.started_at)
    one_by_one, batched = fresh[: policy.alert_cap], fresh[policy.alert_cap :]
    for row in one_by_one:
        view = breach_view(row, names.get(row.member_id, "?"), team, now)
        row.message_key, row.shown = f"breach:{row.id}", shown(view)
        await outbox.enqueue(
            session, key=row.message_key, channel=team.channel_id, payload=render_breach(view, named=named), now=now
        )
        if not named:
            for lead in await _team_people(session, team, roles=("lead",)):
                await outbox.enqueue(
                    session,
                    key=f"breach:{row.id}:dm:{lead.id}",
                    channel=lead.slack_user_id or "",
                    now=now,
                    kind="dm",
                    payload=render_breach(view, named=True),
                )
        result.opened += 1
    if batched:
        views = [breach_view(b, names.get(b.member_id, "?"), team, now) for b in batched]
        first = min(b.id or 0 for b in batched)
        await outbox.enqueue(
            session,
            key=f"breach-batch:{team.id}:{first}",
            now=now,
            channel=team.channel_id,
            payload=render_batch(team.name, views, named=named),
        )
        result.batched += len(batched)
        result.opened += len(batched)


async def _escalate(
    session: AsyncSession,
    team: Team,
    policy: AdherencePolicy,
    known: dict[tuple[int, str, datetime], Breach],
    names: dict[int, str],
    now: datetime,
    result: ScanResult,
) -> None:
    if policy.escalate_after_minutes is None:
        return
    due = [
        b
        for b in known.values()
        if b.team_id == team.id
        and b.ended_at is None
        and b.escalated_at is None
        and b.status == "open"
        and now - b.started_at >= timedelta(minutes=policy.escalate_after_minutes)
    ]
    if not due:
        return
    managers = [m for m in await _team_people(session, team, roles=("manager",)) if m.slack_user_id]
    for row in due:
        row.escalated_at = now
        view = breach_view(row, names.get(row.member_id, "?"), team, now)
        for manager in managers:
            await outbox.enqueue(
                session,
                key=f"breach:{row.id}:escalate:{manager.id}",
                channel=manager.slack_user_id or "",
                now=now,
                kind="dm",
                payload=render_breach(view, named=True),
            )
        await queue_update(session, row, view, team, now)
        result.escalated += 1


async def _team_people(session: AsyncSession, team: Team, *, roles: tuple[str, ...]) -> list[Member]:
    query = (
        select(Member)
        .join(TeamOversight, col(TeamOversight.member_id) == Member.id)
        .where(col(TeamOversight.team_id) == team.id, col(Member.role).in_(roles), col(Member.active))
    )
    return list((await session.execute(query)).scalars())
