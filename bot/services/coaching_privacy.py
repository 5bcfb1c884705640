"""Subject access export and erasure of one person (``rhythm export agent`` / ``rhythm erase agent``).

The export is an audited read of everything held (private notes opened, since they are the person's data:
whoever releases the file reviews it first, or withholds them with ``redact_notes``). ``requested_by`` names the
Rhythm person on whose behalf the operator runs it; it is then held to the coaching rule (an admin, or the
person's own leaders). The erasure is admin work (whoever runs the CLI) and leaves one audit event with ids and
counts only. Key rotation re-seals every private note with the newest key, in batches, and audits the counts.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.crypto import CannotDecrypt, cipher_from
from bot.deps import Deps
from bot.domain.access import Actor
from bot.domain.errors import UserFacingError
from bot.services.coaching_access import actor_by_id, check_manage
from bot.store import audit, coaching, org, privacy
from bot.store.tables import Member


@dataclass(frozen=True, slots=True)
class Export:
    member_id: int
    data: dict[str, list[dict[str, Any]]]
    private_notes: int = 0  # sessions whose private notes the file holds (opened, not withheld)

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.data.items()}


async def _subject(session: AsyncSession, email: str) -> privacy.Subject:
    row = (await session.execute(select(Member).where(col(Member.email) == email.strip().lower()))).scalar_one_or_none()
    if row is None or row.id is None:
        raise UserFacingError(f"No one with the email {email} is on the roster.")
    return privacy.Subject(row.id, row.slack_user_id, row.email)


async def _requester(session: AsyncSession, email: str) -> Actor:
    row = (await session.execute(select(Member).where(col(Member.email) == email.strip().lower()))).scalar_one_or_none()
    actor = await actor_by_id(session, row.id) if row is not None and row.id is not None else None
    if actor is None:
        raise UserFacingError(f"{email} is not an active person on the roster, so they can't request an export.")
    return actor


async def export_member(
    deps: Deps, *, email: str, requested_by: str | None = None, redact_notes: bool = False
) -> Export:
    async with deps.sessions() as session:
        subject = await _subject(session, email)
        actor = "cli"
        if requested_by is not None:
            requester = await _requester(session, requested_by)
            member = await org.member_by_id(session, subject.member_id)
            assert member is not None
            await check_manage(session, requester, member)
            actor = f"cli:member:{requester.member_id}"
        data = await privacy.export(session, subject, cipher_from(deps.settings), redact=redact_notes)
        notes = 0 if redact_notes else sum(1 for r in data["coaching_session"] if r.get("private_notes") is not None)
        audit.record(
            session,
            actor=actor,
            action="privacy.export",
            subject=f"member:{subject.member_id}",
            rows=sum(len(rows) for rows in data.values()),
            private_notes=notes,
            notes_withheld=redact_notes,
        )
        await session.commit()
    return Export(subject.member_id, data, notes)


async def preview_erasure(deps: Deps, *, email: str) -> tuple[int, dict[str, int]]:
    """What ``erase`` would remove, per section (nothing is changed, nothing audited: no data is shown)."""
    async with deps.sessions() as session:
        subject = await _subject(session, email)
        counts = {s.name: len(await s.rows(session, subject)) for s in privacy.SECTIONS}
    return subject.member_id, counts


async def erase_member(deps: Deps, *, email: str) -> tuple[int, dict[str, int]]:
    async with deps.sessions() as session:
        subject = await _subject(session, email)
        counts = await privacy.erase(session, subject)
        # Written after the erasure, so it survives it: ids and counts only, no name, email or Slack id.
        audit.record(session, actor="cli", action="privacy.erase", subject=f"member:{subject.member_id}", **counts)
        await session.commit()
    return subject.member_id, counts


@dataclass(frozen=True, slots=True)
class Rotated:
    resealed: int = 0  # re-encrypted with the newest key
    current: int = 0  # already sealed with it
    unreadable: int = 0  # sealed with a key no longer configured: left as they are


async def rotate_notes(deps: Deps, *, batch_size: int = 500) -> Rotated:
    """Re-seal every private note with the newest key of ``RHYTHM_ENCRYPTION_KEY``, a batch per transaction (a
    running bot keeps working); then the old key can be removed. Audited with counts only."""
    cipher = cipher_from(deps.settings)
    if cipher is None:
        raise UserFacingError("RHYTHM_ENCRYPTION_KEY is not set: there is no key to rotate to.")
    counts = {"resealed": 0, "current": 0, "unreadable": 0}
    after = 0
    while True:
        async with deps.sessions() as session:
            batch = await coaching.sealed_notes(session, after_id=after, limit=batch_size)
            for session_id, sealed in batch:
                if cipher.is_current(sealed):
                    counts["current"] += 1
                    continue
                try:
                    fresh = cipher.rotate(sealed)
                except CannotDecrypt:
                    counts["unreadable"] += 1
                    continue
                counts["resealed"] += await coaching.reseal_notes(session, session_id, sealed, fresh)
            await session.commit()
        if len(batch) < batch_size:
            break
        after = batch[-1][0]
    async with deps.sessions() as session:
        audit.record(session, actor="cli", action="crypto.rotate", subject="coaching_session.private_notes", **counts)
        await session.commit()
    return Rotated(**counts)


def to_json(export: Export) -> str:
    return json.dumps(
        {"member_id": export.member_id, "sections": export.data}, indent=2, ensure_ascii=False, default=str
    )


def to_csv(export: Export) -> str:
    """One long table (section, row, field, value): every section in one file, whatever its columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "row", "field", "value"])
    for name, rows in export.data.items():
        for n, row in enumerate(rows, start=1):
            for field, value in row.items():
                text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
                writer.writerow([name, n, field, "" if text is None else text])
    return buffer.getvalue()
