"""Who a huddle concerns: the team's agents, their schedules around it, their check-ins; and the prompt's
open-breach count. Callers commit.

A check-in is written only while its huddle is open, in the same statement (``_still_open``): on PostgreSQL
that check share-locks the huddle row, so the close's ``UPDATE … status='closed'`` waits for a check-in in
flight and then tallies it, or the check-in waits for the close and then finds the huddle closed. On SQLite the
write lock serialises them. Nothing is ever saved after the close has counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from bot.domain.huddle import Segment
from bot.store.huddle_tables import CheckIn, Huddle
from bot.store.tables import Breach, Member, ScheduleSegment


@dataclass(frozen=True, slots=True)
class Agent:
    id: int
    name: str
    slack_user_id: str | None


async def roster(session: AsyncSession, team_id: int) -> list[Agent]:
    """The team's active agents, by name."""
    query = select(col(Member.id), col(Member.name), col(Member.slack_user_id)).where(
        col(Member.team_id) == team_id, col(Member.active), col(Member.role) == "agent"
    )
    rows = (await session.execute(query.order_by(col(Member.name)))).all()
    return [Agent(i, n, u) for i, n, u in rows if i is not None]


async def segments(
    session: AsyncSession, member_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, list[Segment]]:
    """Schedule segments of ``member_ids`` overlapping [start, end), per member."""
    ids = list(set(member_ids))
    if not ids:
        return {}
    query = select(
        col(ScheduleSegment.member_id),
        col(ScheduleSegment.start),
        col(ScheduleSegment.end),
        col(ScheduleSegment.activity),
    ).where(col(ScheduleSegment.member_id).in_(ids), col(ScheduleSegment.start) < end, col(ScheduleSegment.end) > start)
    out: dict[int, list[Segment]] = {}
    for member_id, s, e, activity in (await session.execute(query)).all():
        out.setdefault(int(member_id), []).append((s, e, str(activity)))
    return out


async def open_breaches(session: AsyncSession, team_id: int) -> int:
    query = select(func.count()).select_from(Breach).where(col(Breach.team_id) == team_id, col(Breach.status) == "open")
    return int((await session.execute(query)).scalar_one())


async def checkins(session: AsyncSession, huddle_ids: Iterable[int]) -> list[CheckIn]:
    ids = list(set(huddle_ids))
    if not ids:
        return []
    query = select(CheckIn).where(col(CheckIn.huddle_id).in_(ids)).order_by(col(CheckIn.created_at), col(CheckIn.id))
    return list((await session.execute(query)).scalars())


async def checkin_of(session: AsyncSession, huddle_id: int, member_id: int) -> CheckIn | None:
    query = select(CheckIn).where(col(CheckIn.huddle_id) == huddle_id, col(CheckIn.member_id) == member_id)
    return (await session.execute(query)).scalar_one_or_none()


def _still_open(dialect: str, huddle_id: int) -> ColumnElement[bool]:
    """EXISTS (the huddle is open), share-locking its row on PostgreSQL until the caller commits."""
    query = select(col(Huddle.id)).where(col(Huddle.id) == huddle_id, col(Huddle.status) == "open")
    if dialect == "postgresql":
        query = query.with_for_update(read=True)  # FOR SHARE: the close's UPDATE waits for this transaction
    return exists(query)


async def add_checkin(
    session: AsyncSession,
    *,
    huddle_id: int,
    member_id: int,
    via: str,
    late: bool,
    now: datetime,
    mood: int | None = None,
    blockers: str | None = None,
    note: str | None = None,
) -> bool:
    """Insert the agent's check-in unless they have one or the huddle is no longer open; True when this call
    created it."""
    conn = await session.connection()
    dialect = conn.dialect.name
    table = SQLModel.metadata.tables[CheckIn.__tablename__]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {
        "huddle_id": huddle_id,
        "member_id": member_id,
        "via": via,
        "late": late,
        "mood": mood,
        "blockers": blockers,
        "note": note,
        "created_at": now,
        "updated_at": now,
    }
    source = select(*(literal(v, table.c[k].type).label(k) for k, v in values.items())).where(
        _still_open(dialect, huddle_id)
    )
    stmt = (
        insert(table)
        .from_select(list(values), source)
        .on_conflict_do_nothing(index_elements=["huddle_id", "member_id"])
        .returning(table.c.id)  # rowcount is -1 under psycopg's async driver; a returned row is certain
    )
    return (await conn.execute(stmt)).first() is not None


async def edit_checkin(
    session: AsyncSession,
    *,
    huddle_id: int,
    member_id: int,
    mood: int,
    blockers: str | None,
    note: str | None,
    now: datetime,
) -> bool:
    """Replace the modal answers of an existing check-in while the huddle is open (a thread reply gains a mood);
    lateness stays as it was. True when a check-in was changed."""
    conn = await session.connection()
    done = await session.execute(
        update(CheckIn)
        .where(
            col(CheckIn.huddle_id) == huddle_id,
            col(CheckIn.member_id) == member_id,
            _still_open(conn.dialect.name, huddle_id),
        )
        .values(mood=mood, blockers=blockers, note=note, via="modal", updated_at=now)
        .returning(col(CheckIn.id))
    )
    return done.first() is not None


async def report_facts(
    session: AsyncSession, huddle_ids: Iterable[int]
) -> dict[int, tuple[dict[int, int], dict[int, int]]]:
    """Per huddle: member id → mood, and member id → 1 for those who raised a blocker (only the columns the
    report needs, grouped once)."""
    ids = list(set(huddle_ids))
    out: dict[int, tuple[dict[int, int], dict[int, int]]] = {i: ({}, {}) for i in ids}
    if not ids:
        return out
    has_blocker = col(CheckIn.blockers).is_not(None) & (col(CheckIn.blockers) != "")
    query = select(col(CheckIn.huddle_id), col(CheckIn.member_id), col(CheckIn.mood), has_blocker).where(
        col(CheckIn.huddle_id).in_(ids)
    )
    for huddle_id, member_id, mood, blocked in (await session.execute(query)).all():
        moods, blockers = out[int(huddle_id)]
        if mood is not None:
            moods[int(member_id)] = int(mood)
        if blocked:
            blockers[int(member_id)] = 1
    return out
