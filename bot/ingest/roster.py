"""Roster import: agents (and leads) by email, upserted; a file with any bad row changes nothing.

Columns: ``email``, ``name``, ``team`` (team key), optional ``role`` (agent|lead|manager|admin; blank
means agent for a new person and "unchanged" for a known one), ``slack_user_id``, ``external_id``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.access import Role
from bot.ingest.records import Record, RowError, text
from bot.store.tables import Member, Team

REQUIRED_COLUMNS = {"email", "name", "team"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]+$")


@dataclass
class RosterResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


async def import_roster(session: AsyncSession, records: Sequence[tuple[int, Record]]) -> RosterResult:
    """Validate every row, then create or update members by email. Caller commits (only when no errors)."""
    teams = {t.key: t.id for t in (await session.execute(select(Team))).scalars()}
    members = {m.email: m for m in (await session.execute(select(Member))).scalars()}
    owner_of = {ref: m.email for m in members.values() for ref in (m.slack_user_id, m.external_id) if ref}
    result = RosterResult()
    wanted: list[tuple[str, dict[str, Any]]] = []
    first_line: dict[str, int] = {}
    for line, record in records:
        email = text(record, "email").lower()
        try:
            fields = _validate(record, email, teams, owner_of)
        except ValueError as exc:
            result.errors.append(RowError(line, str(exc)))
            continue
        for ref in (email, fields["slack_user_id"], fields["external_id"]):
            if ref and ref in first_line:
                result.errors.append(RowError(line, f"{ref} already appears on line {first_line[ref]}"))
                break
        else:
            for ref in (email, fields["slack_user_id"], fields["external_id"]):
                if ref:
                    first_line[str(ref)] = line
            wanted.append((email, fields))
    if result.errors:
        return result
    for email, fields in wanted:
        row = members.get(email)
        if row is None:
            row = Member(email=email, name=fields["name"], role=Role.AGENT.value)
            for k, v in fields.items():
                setattr(row, k, v)
            session.add(row)
            result.created.append(email)
        elif any(getattr(row, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(row, k, v)
            session.add(row)
            result.updated.append(email)
        else:
            result.unchanged += 1
    await session.flush()
    return result


def _validate(record: Record, email: str, teams: dict[str, int | None], owner_of: dict[str, str]) -> dict[str, Any]:
    if "__error__" in record:
        raise ValueError(record["__error__"])
    if not _EMAIL.match(email):
        raise ValueError(f"email {email!r} is not an email address" if email else "email is empty")
    name = text(record, "name")
    if not name:
        raise ValueError("name is empty")
    team_key = text(record, "team").lower()
    if team_key not in teams:
        known = ", ".join(sorted(teams)) or "none yet — run `rhythm org apply` first"
        raise ValueError(f"unknown team {team_key!r} (known: {known})")
    role_raw = text(record, "role").lower()
    if role_raw and role_raw not in set(Role):
        raise ValueError(f"role {role_raw!r} is not one of agent, lead, manager, admin")
    slack_id = text(record, "slack_user_id") or None
    if slack_id and not _SLACK_ID.match(slack_id):
        raise ValueError(f"slack_user_id {slack_id!r} does not look like a Slack user id (U… or W…)")
    external_id = text(record, "external_id") or None
    for ref in (slack_id, external_id):
        if ref and owner_of.get(ref, email) != email:
            raise ValueError(f"{ref} already belongs to {owner_of[ref]}")
    return {
        "name": name,
        "team_id": teams[team_key],
        **({"role": role_raw} if role_raw else {}),  # blank: keep a known person's role (a lead stays a lead)
        "slack_user_id": slack_id,
        "external_id": external_id,
        "active": True,
    }
