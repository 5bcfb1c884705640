"""Coaching sessions and action items: writes (caller commits), once-only updates, and the reads the views need.

Nothing here checks who is asking or writes audit events: the services do both, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.crypto import Sealed
from bot.domain.coaching import Owner, SessionDraft
from bot.store import jobruns
from bot.store.coaching_tables import CoachingActionItem, CoachingSession
from bot.store.tables import JobRun, Outbox, pk

SUBMIT_JOB = "coaching-submit"  # job_run rows claiming one modal submission (the generic once-only ledger)
FOLLOW_UP_PREFIX = "coaching:follow-up:"


async def add_session(
    session: AsyncSession,
    draft: SessionDraft,
    *,
    member_id: int,
    team_id: int,
    lead_id: int,
    plan_id: int | None,
    notes: Sealed | None,
    evidence: dict[str, Any],
) -> tuple[CoachingSession, list[CoachingActionItem]]:
    row = CoachingSession(
        member_id=member_id,
        team_id=team_id,
        lead_id=lead_id,
        plan_id=plan_id,
        kind=draft.kind.value,
        held_on=draft.held_on,
        shared_summary=draft.summary,
        private_notes=notes,
        strengths=draft.strengths,
        improve=draft.improve,
        follow_up_on=draft.follow_up_on,
        evidence=evidence,
    )
    session.add(row)
    await session.flush()
    items = [
        CoachingActionItem(
            session_id=pk(row),
            member_id=member_id,
            text=a.text,
            owner=a.owner.value,
            owner_id=member_id if a.owner is Owner.AGENT else lead_id,
            due_on=a.due_on,
        )
        for a in draft.actions
    ]
    session.add_all(items)
    await session.flush()
    return row, items


async def get_session(session: AsyncSession, session_id: int) -> CoachingSession | None:
    return await session.get(CoachingSession, session_id)


async def sessions_for(session: AsyncSession, member_id: int, *, limit: int) -> list[CoachingSession]:
    """The agent's latest sessions, newest first."""
    query = (
        select(CoachingSession)
        .where(col(CoachingSession.member_id) == member_id)
        .order_by(col(CoachingSession.held_on).desc(), col(CoachingSession.id).desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def items_for(session: AsyncSession, session_ids: Iterable[int]) -> dict[int, list[CoachingActionItem]]:
    ids = list(set(session_ids))
    out: dict[int, list[CoachingActionItem]] = {i: [] for i in ids}
    if not ids:
        return out
    query = (
        select(CoachingActionItem)
        .where(col(CoachingActionItem.session_id).in_(ids))
        .order_by(col(CoachingActionItem.id))
    )
    for item in (await session.execute(query)).scalars():
        out[item.session_id].append(item)
    return out


async def open_items(session: AsyncSession, member_ids: Iterable[int]) -> list[CoachingActionItem]:
    ids = list(set(member_ids))
    if not ids:
        return []
    query = (
        select(CoachingActionItem)
        .where(col(CoachingActionItem.member_id).in_(ids), col(CoachingActionItem.done_at).is_(None))
        .order_by(col(CoachingActionItem.id))
    )
    return list((await session.execute(query)).scalars())


async def latest_session(session: AsyncSession, member_id: int) -> CoachingSession | None:
    """The agent's most recent session (by date held, then by when it was logged)."""
    query = (
        select(CoachingSession)
        .where(col(CoachingSession.member_id) == member_id)
        .order_by(col(CoachingSession.held_on).desc(), col(CoachingSession.id).desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def latest_sessions(session: AsyncSession, member_ids: Iterable[int]) -> dict[int, CoachingSession]:
    """Each agent's most recent session, picked in SQL (one row per agent, however many sessions they have)."""
    ids = list(set(member_ids))
    if not ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=col(CoachingSession.member_id),
            order_by=(col(CoachingSession.held_on).desc(), col(CoachingSession.id).desc()),
        )
        .label("rank")
    )
    newest = select(col(CoachingSession.id).label("id"), rank).where(col(CoachingSession.member_id).in_(ids)).subquery()
    query = select(CoachingSession).join(newest, newest.c.id == CoachingSession.id).where(newest.c.rank == 1)
    return {row.member_id: row for row in (await session.execute(query)).scalars()}


async def count_open_items(session: AsyncSession, member_id: int) -> int:
    query = (
        select(func.count())
        .select_from(CoachingActionItem)
        .where(col(CoachingActionItem.member_id) == member_id, col(CoachingActionItem.done_at).is_(None))
    )
    return int((await session.execute(query)).scalar_one())


async def acknowledge(session: AsyncSession, session_id: int, member_id: int, now: datetime) -> bool:
    """Record the agent's confirmation once: True only for the click that recorded it."""
    won = await session.execute(
        update(CoachingSession)
        .where(
            col(CoachingSession.id) == session_id,
            col(CoachingSession.member_id) == member_id,
            col(CoachingSession.acknowledged_at).is_(None),
        )
        .values(acknowledged_at=now)
        .returning(col(CoachingSession.id))
    )
    return won.first() is not None


async def get_item(session: AsyncSession, item_id: int) -> CoachingActionItem | None:
    return await session.get(CoachingActionItem, item_id)


async def close_item(session: AsyncSession, item_id: int, by: int, now: datetime) -> bool:
    won = await session.execute(
        update(CoachingActionItem)
        .where(col(CoachingActionItem.id) == item_id, col(CoachingActionItem.done_at).is_(None))
        .values(done_at=now, done_by=by)
        .returning(col(CoachingActionItem.id))
    )
    return won.first() is not None


async def follow_ups_due(session: AsyncSession, team_id: int, today: date) -> list[CoachingSession]:
    query = (
        select(CoachingSession)
        .where(
            col(CoachingSession.team_id) == team_id,
            col(CoachingSession.follow_up_on) <= today,
            col(CoachingSession.followed_up_at).is_(None),
        )
        .order_by(col(CoachingSession.id))
    )
    return list((await session.execute(query)).scalars())


async def mark_followed_up(session: AsyncSession, session_id: int, now: datetime) -> bool:
    won = await session.execute(
        update(CoachingSession)
        .where(col(CoachingSession.id) == session_id, col(CoachingSession.followed_up_at).is_(None))
        .values(followed_up_at=now)
        .returning(col(CoachingSession.id))
    )
    return won.first() is not None


async def count_reviews(session: AsyncSession, plan_id: int) -> int:
    query = select(func.count()).select_from(CoachingSession).where(col(CoachingSession.plan_id) == plan_id)
    return int((await session.execute(query)).scalar_one())


async def purge_sessions_before(session: AsyncSession, cutoff: date) -> list[int]:
    """Delete sessions held before ``cutoff`` and their action items; returns the deleted session ids."""
    query = select(col(CoachingSession.id)).where(col(CoachingSession.held_on) < cutoff)
    ids = [i for i in (await session.execute(query)).scalars() if i is not None]
    if ids:
        await session.execute(delete(CoachingActionItem).where(col(CoachingActionItem.session_id).in_(ids)))
        await session.execute(delete(CoachingSession).where(col(CoachingSession.id).in_(ids)))
    return ids


async def follow_up_keys(session: AsyncSession, session_ids: Iterable[int]) -> list[str]:
    """Outbox keys of the follow-up DMs about these sessions (one per recipient: ``…:<session>:<member>``)."""
    wanted = {str(i) for i in session_ids}
    if not wanted:
        return []
    query = select(col(Outbox.idempotency_key)).where(col(Outbox.idempotency_key).startswith(FOLLOW_UP_PREFIX))
    keys = (await session.execute(query)).scalars()
    return [k for k in keys if k.removeprefix(FOLLOW_UP_PREFIX).split(":")[0] in wanted]


@dataclass(frozen=True, slots=True)
class Submission:
    """One modal submission: who sent which view with what content (a replay has the same three)."""

    view_id: str
    digest: str  # of the user and the content, 32 hex characters


async def claim_submission(session: AsyncSession, sub: Submission, now: datetime) -> bool:
    """True for the first arrival of this submission (in the caller's transaction: a rollback releases it)."""
    return await jobruns.claim(
        session, job_key=SUBMIT_JOB, subject=f"view:{sub.view_id}"[:64], slot=sub.digest, scheduled_for=now
    )


async def note_submission(session: AsyncSession, sub: Submission, record: str) -> None:
    """Remember what the submission created (``session:12``, ``plan:3:v2``) for a replay to answer with."""
    await jobruns.finish(
        session, job_key=SUBMIT_JOB, subject=f"view:{sub.view_id}"[:64], slot=sub.digest, status="done", detail=record
    )


async def submitted(session: AsyncSession, sub: Submission) -> str | None:
    query = select(col(JobRun.detail)).where(
        col(JobRun.job_key) == SUBMIT_JOB,
        col(JobRun.subject) == f"view:{sub.view_id}"[:64],
        col(JobRun.slot) == sub.digest,
    )
    return (await session.execute(query)).scalar_one_or_none()


async def forget_submissions(session: AsyncSession, *, before: datetime) -> None:
    """Drop submission claims older than ``before``: a replay arrives within minutes, not days."""
    await session.execute(delete(JobRun).where(col(JobRun.job_key) == SUBMIT_JOB, col(JobRun.scheduled_for) < before))


async def sealed_notes(session: AsyncSession, *, after_id: int, limit: int) -> list[tuple[int, Sealed]]:
    """A batch of (session id, private notes), by id: what a key rotation walks through."""
    query = (
        select(col(CoachingSession.id), col(CoachingSession.private_notes))
        .where(col(CoachingSession.id) > after_id, col(CoachingSession.private_notes).is_not(None))
        .order_by(col(CoachingSession.id))
        .limit(limit)
    )
    return [(i, n) for i, n in (await session.execute(query)).all() if i is not None and n is not None]


async def reseal_notes(session: AsyncSession, session_id: int, old: Sealed, new: Sealed) -> bool:
    """Swap the notes' ciphertext, only if it is still ``old`` (a concurrent change wins)."""
    won = await session.execute(
        update(CoachingSession)
        .where(col(CoachingSession.id) == session_id, col(CoachingSession.private_notes) == old)
        .values(private_notes=new)
        .returning(col(CoachingSession.id))
    )
    return won.first() is not None
