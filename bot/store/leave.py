"""Leave: agents away on given local dates, whom huddles and notices neither expect, prompt nor remind."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.store.tables import Leave, pk


async def add_leave(
    session: AsyncSession,
    member_id: int,
    first_day: date,
    last_day: date,
    *,
    created_by: int | None = None,
    reason: str | None = None,
) -> int:
    if last_day < first_day:
        raise ValueError("leave ends before it starts")
    row = Leave(member_id=member_id, first_day=first_day, last_day=last_day, created_by=created_by, reason=reason)
    session.add(row)
    await session.flush()
    return pk(row)


async def on_leave(session: AsyncSession, member_ids: Iterable[int], day: date) -> set[int]:
    """Which of ``member_ids`` are on leave on ``day``."""
    ids = list(set(member_ids))
    if not ids:
        return set()
    rows = await session.execute(
        select(col(Leave.member_id)).where(
            col(Leave.member_id).in_(ids), col(Leave.first_day) <= day, col(Leave.last_day) >= day
        )
    )
    return set(rows.scalars())


async def leave_between(session: AsyncSession, member_ids: Iterable[int], first: date, last: date) -> list[Leave]:
    """Every leave of ``member_ids`` overlapping ``first``..``last``, by member then start."""
    ids = list(set(member_ids))
    if not ids:
        return []
    rows = await session.execute(
        select(Leave)
        .where(col(Leave.member_id).in_(ids), col(Leave.first_day) <= last, col(Leave.last_day) >= first)
        .order_by(col(Leave.member_id), col(Leave.first_day))
    )
    return list(rows.scalars())
