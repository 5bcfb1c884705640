"""Adherence data: schedule segments (replaced per agent and window), state events (deduplicated), breaches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from bot.store.tables import AgentStateEvent, Breach, Member, ScheduleSegment, utcnow


@dataclass
class AgentDay:
    """What the scan needs for one agent: segments overlapping the window, state events in it (plus the last
    one before it, so the state at the window's start is known) and excused stretches."""

    member_id: int
    team_id: int
    segments: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    events: list[tuple[datetime, str]] = field(default_factory=list)
    excused: list[tuple[datetime, datetime]] = field(default_factory=list)


async def replace_segments(
    session: AsyncSession, *, member_id: int, start: datetime, end: datetime, segments: Sequence[dict[str, Any]]
) -> int:
    """Replace the agent's segments that overlap [start, end) with ``segments`` (a WFM re-publish). Caller commits."""
    await session.execute(
        delete(ScheduleSegment).where(
            col(ScheduleSegment.member_id) == member_id,
            col(ScheduleSegment.start) < end,
            col(ScheduleSegment.end) > start,
        )
    )
    for s in segments:
        session.add(ScheduleSegment(member_id=member_id, **s))
    await session.flush()
    return len(segments)


async def add_state_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert state events, ignoring exact duplicates (a feed that resends); returns how many were new."""
    if not rows:
        return 0
    conn = await session.connection()
    table = SQLModel.metadata.tables[AgentStateEvent.__tablename__]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    stmt = insert(table).on_conflict_do_nothing(index_elements=["member_id", "at", "state"]).returning(table.c.id)
    new = 0
    for row in rows:  # RETURNING per row tells new from duplicate; batches of events are small
        if (await conn.execute(stmt, [{**row, "received_at": now}])).first() is not None:
            new += 1
    return new


async def load_agent_days(
    session: AsyncSession, *, start: datetime, end: datetime, team_ids: Sequence[int] | None = None
) -> dict[int, AgentDay]:
    """Every active agent with a segment overlapping [start, end), with their events and excused stretches."""
    members = select(col(Member.id), col(Member.team_id)).where(col(Member.active), col(Member.team_id).is_not(None))
    if team_ids is not None:
        members = members.where(col(Member.team_id).in_(team_ids))
    days: dict[int, AgentDay] = {}
    seg_q = (
        select(
            col(ScheduleSegment.member_id),
            col(ScheduleSegment.start),
            col(ScheduleSegment.end),
            col(ScheduleSegment.activity),
        )
        .where(col(ScheduleSegment.start) < end, col(ScheduleSegment.end) > start)
        .where(col(ScheduleSegment.member_id).in_(members.with_only_columns(col(Member.id))))
        .order_by(col(ScheduleSegment.member_id), col(ScheduleSegment.start))
    )
    team_of: dict[int, int] = {
        m: t for m, t in (await session.execute(members)).all() if m is not None and t is not None
    }
    for member_id, s, e, activity in (await session.execute(seg_q)).all():
        day = days.setdefault(member_id, AgentDay(member_id, team_of[member_id]))
        day.segments.append((s, e, activity))
    if not days:
        return days
    ids = list(days)
    # The latest event at or before the window start, per agent: the state the window opens in.
    before = (
        select(col(AgentStateEvent.member_id), func.max(col(AgentStateEvent.at)).label("at"))
        .where(col(AgentStateEvent.member_id).in_(ids), col(AgentStateEvent.at) <= start)
        .group_by(col(AgentStateEvent.member_id))
        .subquery()
    )
    ev_q = (
        select(col(AgentStateEvent.member_id), col(AgentStateEvent.at), col(AgentStateEvent.state))
        .outerjoin(before, before.c.member_id == AgentStateEvent.member_id)
        .where(
            col(AgentStateEvent.member_id).in_(ids),
            col(AgentStateEvent.at) < end,
            or_(
                col(AgentStateEvent.at) > start, and_(before.c.at.is_not(None), col(AgentStateEvent.at) == before.c.at)
            ),
        )
        .order_by(col(AgentStateEvent.member_id), col(AgentStateEvent.at))
    )
    for member_id, at, state in (await session.execute(ev_q)).all():
        days[member_id].events.append((at, state))
    ex_q = select(col(Breach.member_id), col(Breach.started_at), col(Breach.ended_at)).where(
        col(Breach.member_id).in_(ids), col(Breach.status) == "excused", col(Breach.started_at) < end
    )
    for member_id, ex_start, ex_end in (await session.execute(ex_q)).all():
        days[member_id].excused.append((ex_start, ex_end or end))
    return days


async def open_breaches(session: AsyncSession, *, team_ids: Sequence[int] | None = None) -> list[Breach]:
    q = select(Breach).where(col(Breach.ended_at).is_(None))
    if team_ids is not None:
        q = q.where(col(Breach.team_id).in_(team_ids))
    return list((await session.execute(q)).scalars())


def group_by_team(days: dict[int, AgentDay]) -> dict[int, list[AgentDay]]:
    out: dict[int, list[AgentDay]] = defaultdict(list)
    for day in days.values():
        out[day.team_id].append(day)
    return out
