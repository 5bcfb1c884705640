"""Who must acknowledge a notice, who has, and the notice's channel posts (with their coalesced updates)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from bot.domain.notices import AudienceMember, Tally
from bot.store.notice_tables import NoticeAck, NoticePost
from bot.store.notices import agents_of
from bot.store.tables import Member


@dataclass(frozen=True, slots=True)
class AckRecord:
    member_id: int
    acked_at: datetime
    seen_number: int
    team_id: int  # their team when they acknowledged


async def audience_members(session: AsyncSession, team_ids: Iterable[int]) -> list[AudienceMember]:
    """The active agents of ``team_ids``, by team then name: the people who must acknowledge."""
    ids = list(team_ids)
    if not ids:
        return []
    rows = await session.execute(
        select(Member).where(*agents_of(ids)).order_by(col(Member.team_id), col(Member.name), col(Member.id))
    )
    return [
        AudienceMember(m.id, m.name, m.email, m.slack_user_id, m.team_id)
        for m in rows.scalars()
        if m.id is not None and m.team_id is not None
    ]


async def record_ack(
    session: AsyncSession, *, version_id: int, member_id: int, team_id: int, seen_number: int, now: datetime
) -> bool:
    """Insert the acknowledgement unless the member already gave one for this version; True when new.

    Insert-if-absent on the unique (version, member): double clicks, racing replicas and replayed payloads
    record it once. Caller commits.
    """
    conn = await session.connection()
    table = SQLModel.metadata.tables[NoticeAck.__tablename__]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(version_id=version_id, member_id=member_id, team_id=team_id, seen_number=seen_number, acked_at=now)
        .on_conflict_do_nothing(index_elements=["version_id", "member_id"])
        .returning(table.c.id)  # rowcount is -1 under psycopg's async driver; a returned row is certain
    )
    return (await conn.execute(stmt)).first() is not None


async def ack_of(session: AsyncSession, *, version_id: int, member_id: int) -> AckRecord | None:
    row = (
        await session.execute(
            select(NoticeAck).where(col(NoticeAck.version_id) == version_id, col(NoticeAck.member_id) == member_id)
        )
    ).scalar_one_or_none()
    return AckRecord(row.member_id, row.acked_at, row.seen_number, row.team_id) if row else None


async def acks_for(session: AsyncSession, version_id: int) -> dict[int, AckRecord]:
    """member id → their acknowledgement of the version."""
    rows = await session.execute(select(NoticeAck).where(col(NoticeAck.version_id) == version_id))
    return {a.member_id: AckRecord(a.member_id, a.acked_at, a.seen_number, a.team_id) for a in rows.scalars()}


async def team_tally(session: AsyncSession, *, version_id: int, team_id: int) -> Tally:
    """How many of the team's active agents acknowledged the version, out of how many."""
    audience = (
        await session.execute(select(func.count()).select_from(Member).where(*agents_of([team_id])))
    ).scalar_one()
    acked = (
        await session.execute(
            select(func.count())
            .select_from(NoticeAck)
            .join(Member, col(Member.id) == col(NoticeAck.member_id))
            .where(col(NoticeAck.version_id) == version_id, *agents_of([team_id]))
        )
    ).scalar_one()
    return Tally(int(acked), int(audience))


async def posts_for(session: AsyncSession, version_id: int) -> list[NoticePost]:
    rows = await session.execute(
        select(NoticePost).where(col(NoticePost.version_id) == version_id).order_by(col(NoticePost.team_id))
    )
    return list(rows.scalars())


async def lock_post(session: AsyncSession, *, version_id: int, team_id: int) -> NoticePost | None:
    """The team's post of the version, locked until the caller commits (FOR UPDATE on PostgreSQL).

    Acknowledgements of one post take turns through this lock, so each counts after the one before it has
    committed and the last update queued always carries the latest count. (SQLite serialises writers anyway.)
    """
    row = await session.execute(
        select(NoticePost)
        .where(col(NoticePost.version_id) == version_id, col(NoticePost.team_id) == team_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return row.scalar_one_or_none()
