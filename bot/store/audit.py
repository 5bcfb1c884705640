"""The audit log: append-only record of admin changes (and, later, every read of coaching data)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.tables import AuditEvent


def record(session: AsyncSession, *, actor: str, action: str, subject: str, **details: Any) -> None:
    """Add an audit row to the caller's unit of work (committed with it, or not at all)."""
    session.add(AuditEvent(actor=actor, action=action, subject=subject, details=details))
