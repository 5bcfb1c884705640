"""Adherence data: schedule segments (replaced per agent and window), state events (deduplicated), breaches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, and_, delete, func, or_, select, tuple_, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import SQLModel, col

from bot.domain.adherence import Segment, StateEvent
from bot.store.tables import AgentStateEvent, Breach, Member, ScheduleSegment, utcnow

SEGMENTS = SQLModel.metadata.tables[ScheduleSegment.__tablename__]
EVENTS = SQLModel.metadata.tables[AgentStateEvent.__tablename__]
_EVENTS_BEFORE = EVENTS.alias("before")


def event_at(table: Any) -> Any:
    """``at`` without UTCDateTime's per-value Python hook: naive UTC on SQLite, aware on PostgreSQL; the loop
    that reads it makes it aware UTC (the column stores UTC either way)."""
    return type_coerce(table.c.at, DateTime(timezone=True)).label("at")


@dataclass
class AgentDay:
    """What the scan needs for one agent: segments overlapping the window, state events in it (plus the latest
    one at or before its start, so the state it opens in is known) and excused stretches."""

    member_id: int
    team_id: int
    segments: list[Segment] = field(default_factory=list)
    events: list[StateEvent] = field(default_factory=list)
    excused: list[tuple[datetime, datetime]] = field(default_factory=list)


async def replace_segments(
    session: AsyncSession, *, member_id: int, start: datetime, end: datetime, segments: Sequence[dict[str, Any]]
) -> tuple[int, datetime, datetime]:
    """Replace the agent's segments that overlap [start, end) with ``segments`` (a WFM re-publish). Caller commits.

    Returns how many segments were written and the span the change covers: [start, end) widened by any replaced
    segment reaching beyond it (a night shift from the day before), whose days' figures change too.
    """
    removed = await session.execute(
        delete(ScheduleSegment)
        .where(
            col(ScheduleSegment.member_id) == member_id,
            col(ScheduleSegment.start) < end,
            col(ScheduleSegment.end) > start,
        )
        .returning(col(ScheduleSegment.start), col(ScheduleSegment.end))
    )
    spans = removed.all()
    for s in segments:
        session.add(ScheduleSegment(member_id=member_id, **s))
    await session.flush()
    return len(segments), min([start, *(s for s, _ in spans)]), max([end, *(e for _, e in spans)])


async def add_state_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert state events, ignoring exact duplicates (a feed that resends); returns how many were new.

    One INSERT … ON CONFLICT DO NOTHING … RETURNING for the batch (SQLAlchemy sends it as multi-row statements):
    only new rows come back, which is how repeats are told from new events. Caller commits.
    """
    if not rows:
        return 0
    conn = await session.connection()
    table = SQLModel.metadata.tables[AgentStateEvent.__tablename__]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    stmt = insert(table).on_conflict_do_nothing(index_elements=["member_id", "at", "state"]).returning(table.c.id)
    result = await conn.execute(stmt, [{**row, "received_at": now} for row in rows])
    return len(result.all())


# A schedule block is a part of a day; only a day off or leave published as one segment is longer. Reading
# segments that start at most this long before the window keeps the scan's index range short after months of
# schedules; a longer segment can only be scheduled-off time, which counts neither way.
MAX_SEGMENT = timedelta(days=2)


async def load_agent_days(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    team_ids: Sequence[int] | None = None,
    ahead: timedelta = timedelta(0),
) -> dict[int, AgentDay]:
    """Every active agent with a segment overlapping [start, end), with their events and excused stretches.

    ``ahead``: also read segments starting up to this long after ``end``, so a shift's remaining blocks are
    known (an agent logging off mid-shift is then not taken for one leaving at the end of it).

    Runs on the Core connection: the ORM's per-row result handling would be most of the cost of a site's day of
    events. Every query is an index range per agent, so months of history cost nothing.
    """
    conn = await session.connection()
    days = await scheduled_agents(conn, start=start, end=end + ahead, team_ids=team_ids)
    if days:
        for member_id, events in (await events_from(conn, list(days), start, end)).items():
            days[member_id].events = events
        await add_excused(conn, days, start, end)
    return days


async def scheduled_agents(
    conn: AsyncConnection, *, start: datetime, end: datetime, team_ids: Sequence[int] | None = None
) -> dict[int, AgentDay]:
    """Active agents with a segment overlapping [start, end), and those segments (no events yet)."""
    team_of = await active_agents(conn, team_ids)
    days: dict[int, AgentDay] = {}
    for member_id, segments in (await segments_of(conn, list(team_of), start, end)).items():
        days[member_id] = AgentDay(member_id, team_of[member_id], segments)
    return days


async def active_agents(conn: AsyncConnection, team_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Member id → team id of every active member with a team (of ``team_ids``)."""
    members = select(col(Member.id), col(Member.team_id)).where(col(Member.active), col(Member.team_id).is_not(None))
    if team_ids is not None:
        members = members.where(col(Member.team_id).in_(team_ids))
    return {m: t for m, t in (await conn.execute(members)).all() if m is not None and t is not None}


def active_ids() -> Any:
    """The ids of ``active_agents`` as a subquery: cheaper than binding thousands of ids into every query."""
    return select(col(Member.id)).where(col(Member.active), col(Member.team_id).is_not(None))


Ids = Sequence[int] | Any  # a list of member ids, or a subquery giving them


def segments_overlapping(ids: Ids, start: datetime, end: datetime) -> Any:
    """The segments of ``ids`` that overlap [start, end) (and start at most ``MAX_SEGMENT`` before it)."""
    seg = SEGMENTS
    return select(seg).where(
        seg.c.member_id.in_(ids), seg.c.start < end, seg.c.end > start, seg.c.start > start - MAX_SEGMENT
    )


async def segments_of(conn: AsyncConnection, ids: Ids, start: datetime, end: datetime) -> dict[int, list[Segment]]:
    """Per agent of ``ids`` with any, their segments overlapping [start, end), in time order."""
    seg = SEGMENTS
    query = segments_overlapping(ids, start, end).with_only_columns(
        seg.c.member_id, seg.c.start, seg.c.end, seg.c.activity
    )
    out: dict[int, list[Segment]] = {}
    for member_id, s, e, activity in (await conn.execute(query.order_by(seg.c.member_id, seg.c.start))).all():
        out.setdefault(member_id, []).append(Segment(s, e, activity))
    return out


async def events_from(
    conn: AsyncConnection, ids: Sequence[int], start: datetime, end: datetime | None
) -> dict[int, list[StateEvent]]:
    """Per agent: the latest event at or before ``start`` (the state from then on), then every later event (before
    ``end`` if given), in time order. Agents with none get an empty list."""
    ev = EVENTS
    out: dict[int, list[StateEvent]] = {m: [] for m in ids}
    # Openings: one index seek per agent, driven from the agents (joined to the events, a planner may run the
    # seek once per event instead).
    latest = (
        select(func.max(_EVENTS_BEFORE.c.at))
        .where(_EVENTS_BEFORE.c.member_id == col(Member.id), _EVENTS_BEFORE.c.at <= start)
        .scalar_subquery()
    )
    openings = [
        (m, at)
        for m, at in (await conn.execute(select(col(Member.id), latest).where(col(Member.id).in_(ids)))).all()
        if at is not None
    ]
    later = ev.c.at > start if end is None else and_(ev.c.at > start, ev.c.at < end)
    queries = [select(ev.c.member_id, event_at(ev), ev.c.state).where(ev.c.member_id.in_(ids), later)]
    if openings:
        queries.insert(
            0, select(ev.c.member_id, event_at(ev), ev.c.state).where(tuple_(ev.c.member_id, ev.c.at).in_(openings))
        )
    for query in queries:
        current: list[StateEvent] = []
        current_id = None
        # Streamed in slices: a site's day is hundreds of thousands of rows, and the event loop has Slack requests
        # to answer meanwhile.
        result = await conn.stream(query.order_by(ev.c.member_id, ev.c.at))
        async for rows in result.partitions(20_000):
            # The hot loop of a full load: an agent's events arrive together, times as the driver gives them.
            for member_id, at, state in rows:
                if member_id != current_id:
                    current, current_id = out[member_id], member_id
                current.append(StateEvent(at.replace(tzinfo=UTC) if at.tzinfo is None else at, state))
    return out


async def add_excused(
    conn: AsyncConnection, days: dict[int, AgentDay], start: datetime, end: datetime, ids: Ids | None = None
) -> None:
    """Excused stretches overlapping [start, end) of the agents in ``days`` (``ids``: whom to ask about)."""
    ex_q = select(col(Breach.member_id), col(Breach.started_at), col(Breach.ended_at)).where(
        col(Breach.member_id).in_(list(days) if ids is None else ids),
        col(Breach.status) == "excused",
        col(Breach.started_at) < end,
        or_(col(Breach.ended_at).is_(None), col(Breach.ended_at) > start),
    )
    for member_id, ex_start, ex_end in (await conn.execute(ex_q)).all():
        if member_id in days:
            days[member_id].excused.append((ex_start, ex_end or end))


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
