"""Huddle rows: the day's plan (focus, skipped), posted huddles and their once-only transitions.

Once-only steps are single statements whose RETURNING says who won: a huddle slot is an insert-if-absent on
(team, day, seq); the reminder and the close are conditional UPDATEs. Callers commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from bot.store.huddle_tables import Huddle, HuddleDay
from bot.store.tables import JobRun, Outbox, Team


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def huddle_teams(session: AsyncSession) -> list[Team]:
    """Teams with a scheduled huddle: a huddle time and a channel to post in."""
    query = select(Team).where(col(Team.huddle_time).is_not(None), col(Team.channel_id).is_not(None))
    return list((await session.execute(query.order_by(col(Team.id)))).scalars())


async def get_day(session: AsyncSession, team_id: int, day: date) -> HuddleDay | None:
    return await session.get(HuddleDay, (team_id, day))


async def save_day(session: AsyncSession, team_id: int, day: date, *, now: datetime, **values: Any) -> None:
    """Upsert the day's plan with ``values`` (focus, focus_by, skipped, skipped_by)."""
    conn = await session.connection()
    table = SQLModel.metadata.tables[HuddleDay.__tablename__]
    stmt = (
        _insert(conn.dialect.name)(table)
        .values(team_id=team_id, day=day, updated_at=now, **values)
        .on_conflict_do_update(index_elements=["team_id", "day"], set_={**values, "updated_at": now})
    )
    await conn.execute(stmt)


async def insert_huddle(session: AsyncSession, **values: Any) -> int | None:
    """Create the huddle unless its (team, day, seq) exists; its id, or None when another run has it."""
    conn = await session.connection()
    table = SQLModel.metadata.tables[Huddle.__tablename__]
    stmt = (
        _insert(conn.dialect.name)(table)
        .values(status="open", tally={}, prompt_updates=0, **values)
        .on_conflict_do_nothing(index_elements=["team_id", "day", "seq"])
        .returning(table.c.id)  # rowcount is -1 under psycopg's async driver; a returned row is certain
    )
    row = (await conn.execute(stmt)).first()
    return int(row[0]) if row else None


async def next_seq(session: AsyncSession, team_id: int, day: date, *, first_adhoc: int) -> int:
    query = select(func.max(col(Huddle.seq))).where(col(Huddle.team_id) == team_id, col(Huddle.day) == day)
    highest = (await session.execute(query)).scalar_one_or_none()
    return max(first_adhoc, (highest or 0) + 1)


async def slot_claimed(session: AsyncSession, *, job_key: str, subject: str, slot: str) -> bool:
    """Whether a run has claimed this prompt slot already (a cheap look before building a prompt)."""
    query = select(col(JobRun.id)).where(
        col(JobRun.job_key) == job_key, col(JobRun.subject) == subject, col(JobRun.slot) == slot
    )
    return (await session.execute(query)).first() is not None


async def clear_skipped(session: AsyncSession, *, job_key: str, subject: str, slots: list[str]) -> int:
    """Forget that these slots were skipped (an unskip), so the next tick may post them; how many were."""
    done = await session.execute(
        delete(JobRun)
        .where(
            col(JobRun.job_key) == job_key,
            col(JobRun.subject) == subject,
            col(JobRun.slot).in_(slots),
            col(JobRun.status) == "skipped",
        )
        .returning(col(JobRun.id))
    )
    return len(done.all())


async def cancel_open(session: AsyncSession, team_id: int, day: date, seqs: list[int], now: datetime) -> list[int]:
    """Call off the day's open huddles numbered ``seqs`` (a skip after posting): no reminder, no close, no digest,
    not in reports. The ids called off."""
    done = await session.execute(
        update(Huddle)
        .where(
            col(Huddle.team_id) == team_id,
            col(Huddle.day) == day,
            col(Huddle.seq).in_(seqs),
            col(Huddle.status) == "open",
        )
        .values(status="cancelled", closed_at=now)
        .returning(col(Huddle.id))
    )
    return [int(i) for i in done.scalars() if i is not None]


async def reopen_cancelled(session: AsyncSession, team_id: int, day: date, now: datetime) -> list[int]:
    """Open again the day's called-off huddles whose check-in window has not ended (an unskip); their ids."""
    done = await session.execute(
        update(Huddle)
        .where(
            col(Huddle.team_id) == team_id,
            col(Huddle.day) == day,
            col(Huddle.status) == "cancelled",
            col(Huddle.closes_at) > now,
        )
        .values(status="open", closed_at=None)
        .returning(col(Huddle.id))
    )
    return [int(i) for i in done.scalars() if i is not None]


async def mark_shown(session: AsyncSession, huddle_id: int, signature: str) -> int | None:
    """Record that the prompt now shows ``signature``; the count of updates queued so far, or None when it
    already showed that (nothing to send)."""
    done = await session.execute(
        update(Huddle)
        .where(col(Huddle.id) == huddle_id, or_(col(Huddle.shown).is_(None), col(Huddle.shown) != signature))
        .values(shown=signature)
        .returning(col(Huddle.prompt_updates))
    )
    row = done.first()
    return None if row is None else int(row[0])


async def next_prompt_update(session: AsyncSession, huddle_id: int) -> int:
    """Count one more queued update of the prompt; its number (the update's outbox key ends ``:u:<n>``)."""
    done = await session.execute(
        update(Huddle)
        .where(col(Huddle.id) == huddle_id)
        .values(prompt_updates=col(Huddle.prompt_updates) + 1)
        .returning(col(Huddle.prompt_updates))
    )
    return int(done.scalar_one())


async def open_huddles(session: AsyncSession, team_id: int) -> list[Huddle]:
    query = select(Huddle).where(col(Huddle.team_id) == team_id, col(Huddle.status) == "open")
    return list((await session.execute(query.order_by(col(Huddle.id)))).scalars())


async def huddles_on(session: AsyncSession, team_id: int, day: date) -> list[Huddle]:
    query = select(Huddle).where(col(Huddle.team_id) == team_id, col(Huddle.day) == day)
    return list((await session.execute(query.order_by(col(Huddle.seq)))).scalars())


async def due_reminders(session: AsyncSession, now: datetime) -> list[int]:
    query = select(col(Huddle.id)).where(
        col(Huddle.status) == "open",
        col(Huddle.remind_at) <= now,
        col(Huddle.reminded_at).is_(None),
        col(Huddle.closes_at) > now,
    )
    return [i for i in (await session.execute(query.order_by(col(Huddle.id)))).scalars() if i is not None]


async def claim_reminder(session: AsyncSession, huddle_id: int, now: datetime) -> bool:
    won = await session.execute(
        update(Huddle)
        .where(col(Huddle.id) == huddle_id, col(Huddle.reminded_at).is_(None), col(Huddle.status) == "open")
        .values(reminded_at=now)
        .returning(col(Huddle.id))
    )
    return won.first() is not None


async def due_closes(session: AsyncSession, now: datetime) -> list[int]:
    query = select(col(Huddle.id)).where(col(Huddle.status) == "open", col(Huddle.closes_at) <= now)
    return [i for i in (await session.execute(query.order_by(col(Huddle.id)))).scalars() if i is not None]


async def claim_close(session: AsyncSession, huddle_id: int, now: datetime) -> bool:
    won = await session.execute(
        update(Huddle)
        .where(col(Huddle.id) == huddle_id, col(Huddle.status) == "open")
        .values(status="closed", closed_at=now)
        .returning(col(Huddle.id))
    )
    return won.first() is not None


async def open_huddle_by_thread(session: AsyncSession, channel: str, thread_ts: str) -> Huddle | None:
    """The open huddle whose prompt is the message ``thread_ts`` in ``channel`` (as the outbox recorded it)."""
    query = (
        select(Huddle)
        .join(Outbox, col(Outbox.idempotency_key) == col(Huddle.message_key))
        .where(col(Huddle.status) == "open", col(Outbox.slack_ts) == thread_ts, col(Outbox.slack_channel) == channel)
    )
    return (await session.execute(query)).scalars().first()


async def closed_between(session: AsyncSession, team_id: int, first: date, last: date) -> Sequence[Huddle]:
    query = select(Huddle).where(
        col(Huddle.team_id) == team_id,
        col(Huddle.status) == "closed",
        col(Huddle.day) >= first,
        col(Huddle.day) <= last,
    )
    return list((await session.execute(query.order_by(col(Huddle.day), col(Huddle.seq)))).scalars())
