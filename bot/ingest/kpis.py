"""KPI import: validate every row first, then upsert all of them in one transaction (or none).

Row fields: ``metric``; ``subject`` (agent email, external id, Slack id, or ``team:KEY``); either ``date``
(a local day, YYYY-MM-DD) or ``start`` and ``end`` (ISO 8601; without an offset they are the team's local
time); either ``numerator`` (+ ``denominator``, required for ratio metrics) or ``value`` (display units, weight
1); optional ``source``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.domain.metrics import Aggregation, MetricDef, value_from_display
from bot.ingest.records import Record, RowError, text
from bot.store import kpis
from bot.store.org import metric_def
from bot.store.tables import Member, Metric, Team, pk

REQUIRED_COLUMNS = {"metric", "subject"}


@dataclass(frozen=True, slots=True)
class Subject:
    key: str  # "m:<id>" or "t:<id>"
    member_id: int | None
    team_id: int
    tz: ZoneInfo


@dataclass
class Lookups:
    metrics: dict[str, tuple[int, MetricDef]]
    subjects: dict[str, Subject | str]  # a str is the reason the subject cannot take samples


async def load_lookups(session: AsyncSession) -> Lookups:
    metrics = {m.key: (pk(m), metric_def(m)) for m in (await session.execute(select(Metric))).scalars()}
    subjects: dict[str, Subject | str] = {}
    zones: dict[int, ZoneInfo] = {}
    team_rows = await session.execute(select(col(Team.id), col(Team.key), col(Team.timezone)))
    for team_id, key, timezone in team_rows.all():
        assert team_id is not None  # a primary key read back from the database
        zones[team_id] = ZoneInfo(timezone)
        subjects[f"team:{key}"] = Subject(f"t:{team_id}", None, team_id, zones[team_id])
    # Plain columns, not ORM rows: every API request builds this, and identity-mapping every member is slow.
    member_rows = await session.execute(
        select(
            col(Member.id), col(Member.email), col(Member.external_id), col(Member.slack_user_id), col(Member.team_id)
        )
    )
    for member_id, email, external_id, slack_user_id, team_id in member_rows.all():
        value: Subject | str = (
            Subject(f"m:{member_id}", member_id, team_id, zones[team_id])
            if team_id in zones
            else f"{email} has no team"
        )
        for ref in (email, external_id, slack_user_id):
            if ref:
                subjects[ref.lower()] = value
    return Lookups(metrics, subjects)


def _number(record: Record, key: str) -> float | None:
    given = record.get(key)
    if type(given) in (int, float):  # the API's (and JSON lines') numbers; never bool (that is not a number)
        value = float(given)  # type: ignore[arg-type]
    else:
        raw = text(record, key)
        if raw == "":
            return None
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{key} {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number")
    return value


def parse_moment(raw: str, tz: ZoneInfo, key: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{key} {raw!r} is not an ISO 8601 date-time") from None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def _period(record: Record, tz: ZoneInfo) -> tuple[date, datetime, datetime]:
    day_raw, start_raw, end_raw = text(record, "date"), text(record, "start"), text(record, "end")
    if day_raw:
        if start_raw or end_raw:
            raise ValueError("give either date or start/end, not both")
        try:
            day = date.fromisoformat(day_raw)
        except ValueError:
            raise ValueError(f"date {day_raw!r} is not YYYY-MM-DD") from None
        start = datetime.combine(day, time(0), tz)
        return day, start, datetime.combine(day + timedelta(days=1), time(0), tz)
    if not (start_raw and end_raw):
        raise ValueError("a period is needed: date, or start and end")
    start, end = parse_moment(start_raw, tz, "start"), parse_moment(end_raw, tz, "end")
    if end <= start:
        raise ValueError("end must be after start")
    return start.astimezone(tz).date(), start, end


def _amounts(record: Record, metric: MetricDef) -> tuple[float, float]:
    value, numerator, denominator = (
        _number(record, "value"),
        _number(record, "numerator"),
        _number(record, "denominator"),
    )
    if value is not None:
        if numerator is not None or denominator is not None:
            raise ValueError("give either value or numerator/denominator, not both")
        return value_from_display(value, metric)
    if numerator is None:
        raise ValueError("a figure is needed: value, or numerator and denominator")
    if metric.aggregation is Aggregation.SUM:
        return numerator, denominator or 0.0
    if denominator is None or denominator <= 0:
        raise ValueError(f"{metric.key} is a rate: denominator must be a positive number")
    if numerator < 0:
        raise ValueError("numerator must not be negative")
    return numerator, denominator


def validate(
    records: Sequence[tuple[int, Record]], lookups: Lookups, default_source: str
) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Rows ready to upsert, and every bad row with its reason. Pure: no I/O."""
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    seen: dict[tuple[Any, ...], int] = {}
    periods: dict[tuple[str, str, str, ZoneInfo], tuple[date, datetime, datetime]] = {}
    for line, record in records:
        try:
            if "__error__" in record:
                raise ValueError(record["__error__"])
            metric_key = text(record, "metric").lower()
            if metric_key not in lookups.metrics:
                known = ", ".join(sorted(lookups.metrics))
                raise ValueError(f"unknown metric {metric_key!r} (known: {known})" if metric_key else "metric is empty")
            metric_id, metric = lookups.metrics[metric_key]
            subject_ref = text(record, "subject").lower()
            subject = lookups.subjects.get(subject_ref)
            if subject is None:
                raise ValueError(
                    f"unknown subject {subject_ref!r} (an agent's email, external id or Slack id, or team:KEY)"
                )
            if isinstance(subject, str):
                raise ValueError(subject)
            period_key = (text(record, "date"), text(record, "start"), text(record, "end"), subject.tz)
            if (parsed := periods.get(period_key)) is None:  # a team's agents share their days: parse each once
                parsed = periods[period_key] = _period(record, subject.tz)
            day, start, end = parsed
            numerator, denominator = _amounts(record, metric)
            source = text(record, "source") or default_source
            if len(source) > 64:
                raise ValueError("source is longer than 64 characters")
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        key = (metric_id, subject.key, start, end, source)
        if key in seen:
            errors.append(RowError(line, f"repeats line {seen[key]} (same metric, subject, period and source)"))
            continue
        seen[key] = line
        rows.append(
            {
                "metric_id": metric_id,
                "subject": subject.key,
                "member_id": subject.member_id,
                "team_id": subject.team_id,
                "day": day,
                "period_start": start,
                "period_end": end,
                "numerator": numerator,
                "denominator": denominator,
                "source": source,
            }
        )
    return rows, errors


async def import_kpis(
    session: AsyncSession,
    records: Sequence[tuple[int, Record]],
    *,
    source: str = "import",
    on_progress: Callable[[int], None] | None = None,
) -> tuple[int, list[RowError]]:
    """Validate then upsert. With any bad row nothing is written and the errors are returned. Caller commits."""
    rows, errors = validate(records, await load_lookups(session), source)
    if errors:
        return 0, errors
    for i in range(0, len(rows), kpis.CHUNK):
        chunk = rows[i : i + kpis.CHUNK]
        await kpis.upsert_samples(session, chunk)
        if on_progress:
            on_progress(len(chunk))
    return len(rows), []
