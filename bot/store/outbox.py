"""Outbox rows: enqueue idempotently (in the caller's transaction), claim the head of each channel, settle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from bot.store.tables import Outbox, utcnow

KINDS = ("post", "update", "dm", "upload")


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    channel: str,
    payload: dict[str, Any],
    kind: str = "post",
    update_of: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message unless one with this idempotency key exists; True when newly queued. Caller commits.

    Enqueue in the same transaction as the work that decided to send (a claimed job slot, a new breach) so
    the decision and the message commit together or not at all.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if kind == "update" and not update_of:
        raise ValueError("an update needs update_of: the key of the message it edits")
    conn = await session.connection()
    table = SQLModel.metadata.tables[Outbox.__tablename__]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
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
