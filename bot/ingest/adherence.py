"""Schedules and agent states in: validated like KPI rows (every bad row listed, a bad batch changes nothing).

Schedule rows: ``agent`` (email, external id or Slack id), ``start``, ``end`` (ISO 8601; without an offset
they are the agent's team's local time), ``activity``. Importing replaces each agent's segments over the
window the file covers for that agent (earliest start to latest end), as a WFM re-publish does.

State rows: ``agent``, ``at``, ``state``. Out-of-order and repeated events are fine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.adherence_kpis import local_days
from bot.ingest.kpis import Lookups, Subject, load_lookups, parse_moment
from bot.ingest.records import Record, RowError, text
from bot.store import adherence

SCHEDULE_COLUMNS = {"agent", "start", "end", "activity"}
STATE_COLUMNS = {"agent", "at", "state"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass
class AgentSchedule:
    start: datetime
    end: datetime
    segments: list[dict[str, Any]]
    team_id: int
    tz: ZoneInfo


def _agent(record: Record, lookups: Lookups) -> Subject:
    ref = text(record, "agent").lower()
    subject = lookups.subjects.get(ref)
    if subject is None or isinstance(subject, str) or subject.member_id is None:
        reason = subject if isinstance(subject, str) else f"unknown agent {ref!r} (an email, external id or Slack id)"
        raise ValueError(reason if ref else "agent is empty")
    return subject


def _name(record: Record, key: str) -> str:
    value = text(record, key).lower()
    if not _NAME.match(value):
        raise ValueError(
            f"{key} {value!r} is not a name like 'open', 'break' or 'lunch'" if value else f"{key} is empty"
        )
    return value


T = TypeVar("T")


def _each(records: Sequence[tuple[int, Record]], parse: Callable[[Record], T]) -> tuple[list[T], list[RowError]]:
    """``parse`` every record; a ValueError becomes that line's error, and every bad line is reported."""
    good: list[T] = []
    errors: list[RowError] = []
    for line, record in records:
        try:
            if "__error__" in record:
                raise ValueError(record["__error__"])
            good.append(parse(record))
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
    return good, errors


def validate_schedule(
    records: Sequence[tuple[int, Record]], lookups: Lookups, source: str
) -> tuple[dict[int, AgentSchedule], list[RowError]]:
    def parse(record: Record) -> tuple[Subject, dict[str, Any]]:
        agent = _agent(record, lookups)
        start = parse_moment(text(record, "start"), agent.tz, "start")
        end = parse_moment(text(record, "end"), agent.tz, "end")
        if end <= start:
            raise ValueError("end must be after start")
        assert agent.member_id is not None
        segment = {"start": start, "end": end, "activity": _name(record, "activity"), "source": source}
        return agent, segment

    segments, errors = _each(records, parse)
    by_member: dict[int, AgentSchedule] = {}
    for agent, seg in segments:
        assert agent.member_id is not None
        plan = by_member.setdefault(
            agent.member_id, AgentSchedule(seg["start"], seg["end"], [], agent.team_id, agent.tz)
        )
        plan.start, plan.end = min(plan.start, seg["start"]), max(plan.end, seg["end"])
        plan.segments.append(seg)
    return by_member, errors


def validate_states(
    records: Sequence[tuple[int, Record]], lookups: Lookups, source: str
) -> tuple[list[dict[str, Any]], list[RowError]]:
    def parse(record: Record) -> dict[str, Any]:
        agent = _agent(record, lookups)
        at = parse_moment(text(record, "at"), agent.tz, "at")
        return {"member_id": agent.member_id, "at": at, "state": _name(record, "state"), "source": source}

    return _each(records, parse)


async def import_schedule(
    session: AsyncSession, records: Sequence[tuple[int, Record]], *, source: str = "import"
) -> tuple[int, list[RowError]]:
    """Validate, then replace each agent's segments over the window their rows cover. Caller commits."""
    count, errors, _ = await import_schedule_days(session, records, source=source)
    return count, errors


async def import_schedule_days(
    session: AsyncSession, records: Sequence[tuple[int, Record]], *, source: str = "import"
) -> tuple[int, list[RowError], dict[int, set[date]]]:
    """``import_schedule``, also giving each team's local days the change covers (whose adherence figures may
    have changed): the new windows and any replaced segment reaching beyond them."""
    plans, errors = validate_schedule(records, await load_lookups(session), source)
    if errors:
        return 0, errors, {}
    count = 0
    touched: dict[int, set[date]] = {}
    for member_id, plan in plans.items():
        written, first, last = await adherence.replace_segments(
            session, member_id=member_id, start=plan.start, end=plan.end, segments=plan.segments
        )
        count += written
        touched.setdefault(plan.team_id, set()).update(local_days(first, last, plan.tz))
    return count, [], touched


async def import_states(
    session: AsyncSession, records: Sequence[tuple[int, Record]], *, source: str = "api"
) -> tuple[int, list[RowError]]:
    """Validate, then store new state events (repeats are ignored). Returns how many were new. Caller commits."""
    rows, errors = validate_states(records, await load_lookups(session), source)
    if errors:
        return 0, errors
    return await adherence.add_state_events(session, rows), []


async def import_states_skipping(
    session: AsyncSession, records: Sequence[tuple[int, Record]], *, source: str
) -> tuple[int, list[RowError]]:
    """Store the good rows and return the bad ones, for a pull connector. Caller commits.

    The API rejects a batch with any bad row because the sender can fix it and send again; a pulled page cannot
    be sent back, and a feed that kept serving one bad record would never get past it. So bad records are
    skipped and reported, and everything else is stored exactly as the API would store it.
    """
    rows, errors = validate_states(records, await load_lookups(session), source)
    return await adherence.add_state_events(session, rows), errors
