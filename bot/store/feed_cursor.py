"""A pull feed's bookmark: one ``job_run`` row per feed, slot ``"cursor"``, so it survives restarts and is shared
by replicas, and polls every few seconds add no rows.

The row's columns, read as a bookmark: ``detail`` the feed's cursor; ``scheduled_for`` the moment the next poll
may ask from when the feed has no cursor (the start of the last good poll); ``status`` ``polling`` while a
replica holds the lease (since ``claimed_at``), else ``idle`` or ``failed`` (the last poll's outcome).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from bot.store.tables import JobRun

SUBJECT, SLOT = "site", "cursor"
_TABLE = SQLModel.metadata.tables[JobRun.__tablename__]


@dataclass(frozen=True, slots=True)
class Bookmark:
    cursor: str | None
    since: datetime  # aware UTC


def _this(job_key: str) -> ColumnElement[bool]:
    return and_(_TABLE.c.job_key == job_key, _TABLE.c.subject == SUBJECT, _TABLE.c.slot == SLOT)


async def take(
    session: AsyncSession, *, job_key: str, now: datetime, lease: timedelta, first_since: datetime
) -> Bookmark | None:
    """Lease the feed for one poll; None while another poll holds an unexpired lease. Caller commits at once.

    The first poll ever creates the row, asking from ``first_since``. A conditional UPDATE … RETURNING decides
    who polls (psycopg's async rowcount is -1), so two replicas never poll one feed at once.
    """
    conn = await session.connection()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    await conn.execute(
        insert(_TABLE)
        .values(job_key=job_key, subject=SUBJECT, slot=SLOT, scheduled_for=first_since, claimed_at=now, status="idle")
        .on_conflict_do_nothing(index_elements=["job_key", "subject", "slot"])
    )
    stmt = (
        update(_TABLE)
        .where(_this(job_key), or_(_TABLE.c.status != "polling", _TABLE.c.claimed_at < now - lease))
        .values(status="polling", claimed_at=now)
        .returning(_TABLE.c.detail, _TABLE.c.scheduled_for)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else Bookmark(row[0], row[1])


async def advance(session: AsyncSession, *, job_key: str, cursor: str | None) -> None:
    """Record the cursor reached, in the transaction that stored the events it covers."""
    await session.execute(update(_TABLE).where(_this(job_key)).values(detail=cursor))


async def release(session: AsyncSession, *, job_key: str, ok: bool, started: datetime) -> None:
    """End the lease; a good poll moves the time-based bookmark to when it started. Caller commits."""
    values: dict[str, object] = {"status": "idle" if ok else "failed"}
    if ok:
        values["scheduled_for"] = started
    await session.execute(update(_TABLE).where(_this(job_key)).values(**values))
