"""Job slots claimed in the database: one row per (job, subject, local slot), across restarts and replicas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from bot.store.tables import JobRun, utcnow


async def claim(
    session: AsyncSession, *, job_key: str, subject: str, slot: str, scheduled_for: datetime, status: str = "claimed"
) -> bool:
    """Insert the slot's row; True only for the one caller that inserted it. Caller commits.

    Claim and the work it guards (enqueueing the message) go in one transaction, so a crash between them
    leaves neither, and the slot can be claimed again inside its grace window.
    """
    conn = await session.connection()
    table = SQLModel.metadata.tables[JobRun.__tablename__]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(
            job_key=job_key, subject=subject, slot=slot, scheduled_for=scheduled_for, status=status, claimed_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=["job_key", "subject", "slot"])
        .returning(table.c.id)  # rowcount is -1 under psycopg's async driver; a returned row is certain
    )
    return (await conn.execute(stmt)).first() is not None


async def finish(
    session: AsyncSession, *, job_key: str, subject: str, slot: str, status: str, detail: str = ""
) -> None:
    await session.execute(
        update(JobRun)
        .where(col(JobRun.job_key) == job_key, col(JobRun.subject) == subject, col(JobRun.slot) == slot)
        .values(status=status, detail=detail[:200] or None)
    )


async def runs(session: AsyncSession, *, job_key: str) -> list[JobRun]:
    result = await session.execute(select(JobRun).where(col(JobRun.job_key) == job_key).order_by(col(JobRun.id)))
    return list(result.scalars())
