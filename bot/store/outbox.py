"""Outbox rows: enqueue idempotently (in the caller's transaction), claim the head of each channel, settle."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from bot.domain.delivery import Message, Original
from bot.store.tables import Outbox, utcnow

# An update edits the message ``update_of`` names; a reply is posted in its thread (both wait for its ts).
KINDS = ("post", "update", "dm", "upload", "reply")


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    channel: str,
    payload: dict[str, Any],
    kind: str = "post",
    update_of: str | None = None,
    not_before: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Queue a message unless one with this idempotency key exists; True when newly queued. Caller commits.

    Enqueue in the same transaction as the work that decided to send (a claimed job slot, a new breach) so
    the decision and the message commit together or not at all. Pass ``now=deps.clock.now()``: the worker
    decides what is due by ``deps.clock``, so a row stamped with the wall clock while a test or replay runs on
    a fixed clock in the past would look due in the future.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if kind == "update" and not update_of:
        raise ValueError("an update needs update_of: the key of the message it edits")
    if kind == "reply" and not update_of:
        raise ValueError("a reply needs update_of: the key of the message it answers in a thread")
    conn = await session.connection()
    table = SQLModel.metadata.tables[Outbox.__tablename__]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    now = now or utcnow()
    stmt = (
        insert(table)
        .values(
            idempotency_key=key,
            kind=kind,
            channel=channel,
            payload=payload,
            update_of=update_of,
            status="pending",
            attempts=0,
            next_attempt_at=not_before or now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)  # rowcount is -1 under psycopg's async driver; a returned row is certain
    )
    return (await conn.execute(stmt)).first() is not None


async def get(session: AsyncSession, key: str) -> Outbox | None:
    return (await session.execute(select(Outbox).where(col(Outbox.idempotency_key) == key))).scalar_one_or_none()


# A row is unsettled while it may still be sent: waiting, retrying, or taken by a worker (under a lease).
UNSETTLED = ("pending", "sending")
_TABLE = SQLModel.metadata.tables[Outbox.__tablename__]


async def replace_pending(session: AsyncSession, *, key: str, payload: dict[str, Any]) -> bool:
    """Give a queued message new content while it still waits to be sent; True when replaced. Caller commits.

    Only a ``pending`` row changes; one being sent, sent or failed is left alone and the caller queues a new
    message instead. This is how a message showing a live figure (a notice's "12/25 acknowledged") turns a
    burst of changes into one send: replace the waiting update, or queue the next one when it has gone.
    On PostgreSQL a row being claimed is locked, so the two never interleave: either the claim sends the new
    payload, or this finds the row no longer pending.
    """
    result = await session.execute(
        update(_TABLE)
        .where(_TABLE.c.idempotency_key == key, _TABLE.c.status == "pending")
        .values(payload=payload)
        .returning(_TABLE.c.id)  # rowcount is -1 under psycopg's async driver
    )
    return result.first() is not None


async def cancel_pending(session: AsyncSession, key: str) -> bool:
    """Withdraw a queued message that is no longer wanted (a reminder to someone who has since answered); True
    when it was still ``pending`` and is now ``cancelled``, never to be sent. Caller commits.

    A row already being sent (or sent) is left alone: the claim locks it on PostgreSQL, so the two never interleave.
    """
    result = await session.execute(
        update(_TABLE)
        .where(_TABLE.c.idempotency_key == key, _TABLE.c.status == "pending")
        .values(status="cancelled")
        .returning(_TABLE.c.id)  # rowcount is -1 under psycopg's async driver
    )
    return result.first() is not None


def _claim_statement(dialect: str, *, now: datetime, limit: int, lease_until: datetime, paced_since: datetime) -> Any:
    o, older, recent = _TABLE.alias("o"), _TABLE.alias("older"), _TABLE.alias("recent")
    # An older row holds its channel's queue while it is being sent, is due, or has been tried (a retry or a
    # 429 waiting out Retry-After). An older row enqueued for later (not_before) and never tried does not:
    # it takes its place in the channel when it becomes due.
    blocked_by_older = (
        select(older.c.id)
        .where(
            older.c.channel == o.c.channel,
            older.c.id < o.c.id,
            or_(
                older.c.status == "sending",
                and_(
                    older.c.status == "pending",
                    or_(older.c.next_attempt_at <= now, older.c.last_error.is_not(None)),
                ),
            ),
        )
        .exists()
    )
    # Per-channel pacing lives in the database, so it holds across replicas and restarts.
    sent_recently = (
        select(recent.c.id)
        .where(recent.c.channel == o.c.channel, recent.c.status == "sent", recent.c.sent_at > paced_since)
        .exists()
    )
    due = (
        select(o.c.id)
        .where(o.c.status.in_(UNSETTLED), o.c.next_attempt_at <= now, ~blocked_by_older, ~sent_recently)
        .order_by(o.c.next_attempt_at, o.c.id)
        .limit(limit)
    )
    if dialect == "postgresql":
        # Replicas skip each other's rows instead of waiting for them; the UPDATE below then owns them.
        due = due.with_for_update(skip_locked=True, of=o)
    return (
        update(_TABLE)
        .where(_TABLE.c.id.in_(due.scalar_subquery()))
        .values(status="sending", next_attempt_at=lease_until)
        .returning(
            _TABLE.c.id,
            _TABLE.c.idempotency_key,
            _TABLE.c.kind,
            _TABLE.c.channel,
            _TABLE.c.payload,
            _TABLE.c.attempts,
            _TABLE.c.update_of,
        )
    )


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta, channel_interval: timedelta
) -> list[Message]:
    """Take the head of each channel's queue that is due at ``now``, at most ``limit`` rows. Caller commits.

    A row is taken when it is pending (or its sending lease ran out: the worker that took it died), due, no
    older row of its channel is still in play (so each channel's order holds through retries and across
    replicas), and nothing was sent to its channel within ``channel_interval``. Taken rows become
    ``sending`` with ``next_attempt_at = now + lease``. At most one row per channel is returned. On PostgreSQL
    concurrent callers get disjoint rows (``FOR UPDATE SKIP LOCKED``); on SQLite the statement is atomic.
    Updates come with their original's state, read in the same transaction.
    """
    if limit <= 0:
        return []
    conn = await session.connection()
    stmt = _claim_statement(
        conn.dialect.name, now=now, limit=limit, lease_until=now + lease, paced_since=now - channel_interval
    )
    rows = (await conn.execute(stmt)).all()
    originals = await _originals(session, {r.update_of for r in rows if r.update_of})
    claimed = [
        Message(
            id=r.id,
            key=r.idempotency_key,
            kind=r.kind,
            channel=r.channel,
            payload=dict(r.payload),
            attempts=r.attempts,
            update_of=r.update_of,
            original=originals.get(r.update_of) if r.update_of else None,
        )
        for r in rows
    ]
    return sorted(claimed, key=lambda m: m.id)


async def _originals(session: AsyncSession, keys: set[str]) -> dict[str, Original]:
    if not keys:
        return {}
    t = _TABLE.c
    result = await session.execute(
        select(t.idempotency_key, t.status, t.slack_ts, t.slack_channel).where(t.idempotency_key.in_(keys))
    )
    return {r.idempotency_key: Original(r.status, r.slack_ts, r.slack_channel) for r in result}


async def mark_sent(
    session: AsyncSession, row_id: int, *, at: datetime, slack_ts: str | None, slack_channel: str
) -> None:
    """Record where the message landed (``slack_ts`` is what a later chat.update needs). Caller commits."""
    await session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == row_id)
        .values(status="sent", sent_at=at, slack_ts=slack_ts, slack_channel=slack_channel, last_error=None)
    )


async def retry_later(session: AsyncSession, row_id: int, *, at: datetime, error: str, counts: bool) -> None:
    """Put the row back in its channel's queue, due at ``at``. ``error`` is a code, never content.

    ``counts`` is False for a 429 or an update waiting for its original: those are not failed attempts.
    Caller commits.
    """
    values: dict[str, Any] = {"status": "pending", "next_attempt_at": at, "last_error": error[:200]}
    if counts:
        values["attempts"] = _TABLE.c.attempts + 1
    await session.execute(update(_TABLE).where(_TABLE.c.id == row_id).values(**values))


async def mark_failed(session: AsyncSession, row_id: int, *, error: str, counts: bool) -> None:
    """Give up on the row for good; its channel's queue moves on. Caller commits."""
    values: dict[str, Any] = {"status": "failed", "last_error": error[:200]}
    if counts:
        values["attempts"] = _TABLE.c.attempts + 1
    await session.execute(update(_TABLE).where(_TABLE.c.id == row_id).values(**values))
