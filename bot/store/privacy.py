"""Everything Rhythm holds about one person, as a list of sections: exported together (subject access request,
POPIA s23 / UK GDPR art. 15) and erased together (s24 / art. 17).

A section is (name, rows, erase). Adding a feature's table is one line in ``SECTIONS`` (usually
``by_member("table_name")``). ``SECTIONS`` is in erasure order: rows that reference others go first, so
foreign keys hold at every step.

Erasure keeps the ``member`` row as an anonymised tombstone instead of deleting it: other people's records
point at it (sessions a lead logged, breaches they acknowledged, leave they entered, plan versions they
changed), audit rows name it by id, and the erasure's own audit event must point somewhere. Its name, email,
Slack id and external id are replaced, it is deactivated and its team links removed, so nothing left
identifies the person. Team-level KPI sums (``kpi_day``) are aggregates, not personal data, and are left as
they are: a team's past scorecards keep the work that was done; the agent's own samples are deleted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from bot.crypto import CannotDecrypt, Cipher, Sealed
from bot.store.coaching import follow_up_keys


@dataclass(frozen=True, slots=True)
class Subject:
    member_id: int
    slack_user_id: str | None
    email: str


Rows = Callable[[AsyncSession, Subject], Awaitable[list[dict[str, Any]]]]
Erase = Callable[[AsyncSession, Subject], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    rows: Rows
    erase: Erase


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


async def _select(session: AsyncSession, table: Table, where: Any) -> list[dict[str, Any]]:
    result = await session.execute(select(table).where(where).order_by(*table.primary_key.columns))
    return [dict(row._mapping) for row in result]


async def _delete(session: AsyncSession, table: Table, where: Any) -> int:
    pk = next(iter(table.primary_key.columns))
    return len((await session.execute(delete(table).where(where).returning(pk))).all())


def by_member(table_name: str, column: str = "member_id") -> Section:
    """The common case: every row of ``table_name`` whose ``column`` is the person's member id."""

    def where(s: Subject) -> Any:
        return _table(table_name).c[column] == s.member_id

    async def rows(session: AsyncSession, s: Subject) -> list[dict[str, Any]]:
        return await _select(session, _table(table_name), where(s))

    async def erase(session: AsyncSession, s: Subject) -> int:
        return await _delete(session, _table(table_name), where(s))

    return Section(table_name, rows, erase)


def via_parent(table_name: str, fk: str, parent: str, parent_column: str = "member_id") -> Section:
    """Rows of ``table_name`` whose ``fk`` points at one of the person's ``parent`` rows (plan versions)."""

    def where(s: Subject) -> Any:
        p = _table(parent)
        mine = select(p.c.id).where(p.c[parent_column] == s.member_id)
        return _table(table_name).c[fk].in_(mine)

    async def rows(session: AsyncSession, s: Subject) -> list[dict[str, Any]]:
        return await _select(session, _table(table_name), where(s))

    async def erase(session: AsyncSession, s: Subject) -> int:
        return await _delete(session, _table(table_name), where(s))

    return Section(table_name, rows, erase)


async def _subjects_about(session: AsyncSession, s: Subject) -> list[str]:
    """Audit subjects that name the person or one of their records."""
    breach = _table("breach")
    ids = (await session.execute(select(breach.c.id).where(breach.c.member_id == s.member_id))).scalars()
    return [f"member:{s.member_id}", *(f"breach:{i}" for i in ids)]


def _actor(s: Subject) -> str | None:
    return f"slack:{s.slack_user_id}" if s.slack_user_id else None


async def _audit_rows(session: AsyncSession, s: Subject) -> list[dict[str, Any]]:
    audit = _table("audit_event")
    about = audit.c.subject.in_(await _subjects_about(session, s))
    actor = _actor(s)
    return await _select(session, audit, or_(about, audit.c.actor == actor) if actor else about)


async def _audit_erase(session: AsyncSession, s: Subject) -> int:
    """Events about the person go; events where they acted on others' records keep the act, not the person."""
    audit = _table("audit_event")
    count = await _delete(session, audit, audit.c.subject.in_(await _subjects_about(session, s)))
    if actor := _actor(s):
        await session.execute(update(audit).where(audit.c.actor == actor).values(actor=f"erased-member:{s.member_id}"))
    return count


async def _outbox_keys(session: AsyncSession, s: Subject) -> list[str]:
    """Keys of queued or sent messages that carry the person's records: coaching DMs and follow-ups, plan
    versions, breach alerts and their updates."""
    sessions, plans, versions = (
        _table("coaching_session"),
        _table("improvement_plan"),
        _table("improvement_plan_version"),
    )
    breach = _table("breach")
    session_ids = list(
        (await session.execute(select(sessions.c.id).where(sessions.c.member_id == s.member_id))).scalars()
    )
    plan_versions = (
        await session.execute(
            select(versions.c.plan_id, versions.c.version)
            .join(plans, plans.c.id == versions.c.plan_id)
            .where(plans.c.member_id == s.member_id)
        )
    ).all()
    breach_keys = (
        await session.execute(select(breach.c.message_key).where(breach.c.member_id == s.member_id))
    ).scalars()
    keys = [f"coaching:session:{i}:dm" for i in session_ids] + await follow_up_keys(session, session_ids)
    keys += [f"coaching:plan:{p}:v{v}" for p, v in plan_versions]
    return keys + [k for k in breach_keys if k]


def _outbox_where(session_keys: list[str], s: Subject, *, to_them: bool) -> Any:
    outbox = _table("outbox")
    clauses: list[Any] = [outbox.c.idempotency_key.in_(session_keys), outbox.c.update_of.in_(session_keys)]
    if to_them and s.slack_user_id:
        clauses.append(outbox.c.channel == s.slack_user_id)  # every DM to them
    return or_(*clauses)


async def _outbox_rows(session: AsyncSession, s: Subject) -> list[dict[str, Any]]:
    """Only messages about the person's own records: DMs *to* a lead also carry their agents' records (follow-ups,
    alerts), which are not the lead's data to receive in their export."""
    return await _select(session, _table("outbox"), _outbox_where(await _outbox_keys(session, s), s, to_them=False))


async def _outbox_erase(session: AsyncSession, s: Subject) -> int:
    """Messages about their records, and every message addressed to them (it names their Slack id)."""
    return await _delete(session, _table("outbox"), _outbox_where(await _outbox_keys(session, s), s, to_them=True))


async def _oversight_rows(session: AsyncSession, s: Subject) -> list[dict[str, Any]]:
    t = _table("team_oversight")
    return await _select(session, t, t.c.member_id == s.member_id)


async def _oversight_erase(session: AsyncSession, s: Subject) -> int:
    t = _table("team_oversight")
    return len((await session.execute(delete(t).where(t.c.member_id == s.member_id).returning(t.c.team_id))).all())


# Erasure order: messages and audit rows first (their keys are found through the records), then children
# before parents. Other features add their per-person tables here.
SECTIONS: tuple[Section, ...] = (
    Section("outbox", _outbox_rows, _outbox_erase),
    Section("audit_event", _audit_rows, _audit_erase),
    by_member("coaching_action_item"),
    by_member("coaching_session"),
    via_parent("improvement_plan_version", "plan_id", "improvement_plan"),
    by_member("improvement_plan"),
    by_member("huddle_checkin"),
    by_member("notice_reminder"),
    by_member("notice_ack"),
    by_member("kpi_sample"),
    by_member("schedule_segment"),
    by_member("agent_state_event"),
    by_member("breach"),
    by_member("leave"),
    Section("team_oversight", _oversight_rows, _oversight_erase),
)


WITHHELD = "[withheld: a leader's private notes]"


def plain(value: Any, cipher: Cipher | None, *, redact: bool = False) -> Any:
    """A JSON-ready value; sealed text (private notes) opened when the key allows, or withheld (``redact``)."""
    if isinstance(value, Sealed):
        if redact:
            return WITHHELD
        if cipher is None:
            return "[encrypted: RHYTHM_ENCRYPTION_KEY is not set]"
        try:
            return cipher.open(value)
        except CannotDecrypt:
            return "[encrypted with a key that is no longer configured]"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def export(
    session: AsyncSession, s: Subject, cipher: Cipher | None, *, redact: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """Every section's rows about the person, member row first; values JSON-ready; private notes opened, or
    withheld with ``redact``."""
    member = _table("member")
    out = {"member": await _select(session, member, member.c.id == s.member_id)}
    for section in SECTIONS:
        out[section.name] = await section.rows(session, s)
    return {
        name: [{k: plain(v, cipher, redact=redact) for k, v in row.items()} for row in rows]
        for name, rows in out.items()
    }


async def erase(session: AsyncSession, s: Subject) -> dict[str, int]:
    """Delete every section's rows and anonymise the member row; returns counts per section. Caller commits."""
    counts = {section.name: await section.erase(session, s) for section in SECTIONS}
    member = _table("member")
    await session.execute(
        update(member)
        .where(member.c.id == s.member_id)
        .values(
            name=f"Erased member {s.member_id}",
            email=f"erased-{s.member_id}@erased.invalid",
            slack_user_id=None,
            external_id=None,
            active=False,
            team_id=None,
        )
    )
    counts["member"] = 1
    return counts
