"""Bearer keys for the ingest API: created once, stored only as a SHA-256 digest, revocable.

A key is ``rhy_`` plus 256 random bits (``secrets.token_urlsafe(32)``): the prefix lets secret scanners and
operators recognise a leaked Rhythm key; the randomness is why a plain, unsalted SHA-256 is enough (there is no
dictionary to attack, unlike a password). The plaintext exists only in :func:`create_key`'s return value.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.store.tables import ApiKey

PREFIX = "rhy_"
# last_used_at is for operators ("is this integration still pushing?"); minute resolution spares a write per call.
TOUCH_EVERY = timedelta(minutes=1)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # it appears in audit rows as "api:<name>"
_MAX_KEY_LENGTH = 128  # ours are 47 characters; anything far longer is not worth hashing


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown about a key: never the key, never its hash."""

    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyError(ValueError):
    """A key cannot be created as asked; the message says why."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(row.name, row.created_at, row.last_used_at, row.revoked_at)


async def create_key(session: AsyncSession, name: str, *, now: datetime) -> str:
    """Add a key named ``name`` and return its plaintext, which is not kept anywhere. Caller commits.

    Names are never reused, not even a revoked key's: audit rows name the key, so a name must mean one key.
    """
    if not _NAME.fullmatch(name):  # fullmatch: "$" would let a trailing newline through
        raise ApiKeyError("a key name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if (await session.execute(select(col(ApiKey.id)).where(col(ApiKey.name) == name))).first():
        raise ApiKeyError(f"an API key named {name!r} already exists (names are not reused, even once revoked)")
    key = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=digest(key), created_at=now))
    await session.flush()
    return key


async def verify_key(session: AsyncSession, key: str, *, now: datetime) -> ApiKeyInfo | None:
    """The key's details if it is known and not revoked, else None. Caller commits (``last_used_at``).

    Looking the key up by its digest is the constant-time comparison: how long the index search takes can
    reveal something about the SHA-256 of a guess, which says nothing useful about any real key.
    """
    if not key.startswith(PREFIX) or len(key) > _MAX_KEY_LENGTH:
        return None
    row = (await session.execute(select(ApiKey).where(col(ApiKey.key_hash) == digest(key)))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        cutoff = now - TOUCH_EVERY
        # The guard repeats the check in SQL so concurrent requests (or replicas) do not all write.
        await session.execute(
            update(ApiKey)
            .where(col(ApiKey.id) == row.id)
            .where(or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < cutoff))
            .values(last_used_at=now)
        )
        return replace(_info(row), last_used_at=now)  # not via the ORM row, which would flush a second UPDATE
    return _info(row)


async def revoke_key(session: AsyncSession, name: str, *, now: datetime) -> tuple[ApiKeyInfo, bool] | None:
    """Revoke the named key: its details and whether this call revoked it, or None when no key has that name.

    Idempotent: an already revoked key keeps its first revocation time. Caller commits.
    """
    row = (await session.execute(select(ApiKey).where(col(ApiKey.name) == name))).scalar_one_or_none()
    if row is None:
        return None
    newly = row.revoked_at is None
    if newly:
        row.revoked_at = now
        await session.flush()
    return _info(row), newly


async def list_keys(session: AsyncSession) -> list[ApiKeyInfo]:
    rows = (await session.execute(select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id)))).scalars()
    return [_info(row) for row in rows]
