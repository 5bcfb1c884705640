"""Notice reminders sent (once per version, member and kind) and the schedule segments that say when a
member's next shift starts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from bot.domain.notice_schedule import ShiftPiece
from bot.store.notice_tables import NoticeReminder
from bot.store.tables import ScheduleSegment


async def record_reminder(
    session: AsyncSession, *, version_id: int, member_id: int, team_id: int, kind: str, now: datetime
) -> bool:
    """Insert the reminder's row unless it exists; True for the one caller that inserted it. Caller commits.

    The unique (version, member, kind) is what makes a reminder go once across ticks, restarts and replicas.
    """
    conn = await session.connection()
    table = SQLModel.metadata.tables[NoticeReminder.__tablename__]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(version_id=version_id, member_id=member_id, team_id=team_id, kind=kind, sent_at=now)
        .on_conflict_do_nothing(index_elements=["version_id", "member_id", "kind"])
        .returning(table.c.id)
    )
    return (await conn.execute(stmt)).first() is not None


async def reminder_kinds(session: AsyncSession, version_id: int) -> dict[int, set[str]]:
    """member id → the kinds of reminder they were sent for the version."""
    rows = await session.execute(
        select(col(NoticeReminder.member_id), col(NoticeReminder.kind)).where(
            col(NoticeReminder.version_id) == version_id
        )
    )
    kinds: dict[int, set[str]] = defaultdict(set)
    for member_id, kind in rows.all():
        kinds[member_id].add(kind)
    return dict(kinds)


async def last_reminded(session: AsyncSession, version_ids: Iterable[int]) -> dict[tuple[int, int], datetime]:
    """(version id, member id) → when they were last reminded (any kind)."""
    ids = list(version_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(col(NoticeReminder.version_id), col(NoticeReminder.member_id), func.max(col(NoticeReminder.sent_at)))
        .where(col(NoticeReminder.version_id).in_(ids))
        .group_by(col(NoticeReminder.version_id), col(NoticeReminder.member_id))
    )
    return {(v, m): at for v, m, at in rows.all()}  # max() keeps the column's type: aware UTC


async def schedule_pieces(
    session: AsyncSession, member_ids: Iterable[int], *, start: datetime, end: datetime
) -> dict[int, list[ShiftPiece]]:
    """member id → their schedule segments overlapping ``start``..``end`` (inclusive), by start time."""
    ids = list(set(member_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(ScheduleSegment)
        .where(
            col(ScheduleSegment.member_id).in_(ids),
            col(ScheduleSegment.start) <= end,
            col(ScheduleSegment.end) > start,
        )
        .order_by(col(ScheduleSegment.member_id), col(ScheduleSegment.start))
    )
    pieces: dict[int, list[ShiftPiece]] = defaultdict(list)
    for seg in rows.scalars():
        pieces[seg.member_id].append(ShiftPiece(seg.start, seg.end, seg.activity))
    return dict(pieces)
