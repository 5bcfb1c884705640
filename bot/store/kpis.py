"""KPI samples: idempotent bulk upsert, and per-day sums for scorecards (one indexed range scan)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any

import psycopg
from sqlalchemy import Float, case, cast, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import SQLModel, col

from bot.domain.kpi import DaySums
from bot.domain.periods import DateRange
from bot.store.tables import KpiDay, KpiSample, Metric, utcnow

# Rows per COPY (PostgreSQL) or executemany batch (SQLite), and per kpi_day refresh.
CHUNK = 5000
_KEY = ["metric_id", "subject", "period_start", "period_end", "source"]
_UPDATED = ("numerator", "denominator", "member_id", "team_id", "day", "ingested_at")


# What a validated row carries; the store adds ingested_at.
_GIVEN = (
    *("metric_id", "subject", "member_id", "team_id", "day", "period_start", "period_end"),
    *("numerator", "denominator", "source"),
)
_COLUMNS = (*_GIVEN, "ingested_at")
_PG_STAGE = f"CREATE TEMP TABLE IF NOT EXISTS kpi_sample_in AS SELECT {', '.join(_COLUMNS)} FROM kpi_sample LIMIT 0"
_PG_MERGE = (
    f"INSERT INTO kpi_sample ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} FROM kpi_sample_in "
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in _UPDATED)}"
)


async def _pg_copy_upsert(conn: AsyncConnection, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """New figures (the usual case: today's export) are COPYed straight into ``kpi_sample``, the fastest way
    PostgreSQL takes rows. If any key is already stored — a resend, a correction — that COPY fails on the unique
    key and is rolled back to its savepoint; then the rows are COPYed into a session temp table and merged with
    one INSERT … SELECT … ON CONFLICT (psycopg would otherwise send one INSERT per row). ``validate`` already
    rejects two rows with one key, which ON CONFLICT could not update twice."""
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    given = itemgetter(*_GIVEN)
    values = [(*given(r), now) for r in rows]  # in _COLUMNS order
    async with raw.cursor() as cur:
        try:
            async with conn.begin_nested():
                await _copy(cur, "kpi_sample", values)
            return
        except psycopg.errors.UniqueViolation:
            pass  # some of these figures are stored already: merge them
        await cur.execute(_PG_STAGE)  # lives as long as the pooled connection; emptied after each use
        await _copy(cur, "kpi_sample_in", values)
        await cur.execute(_PG_MERGE)
        await cur.execute("TRUNCATE kpi_sample_in")


async def _copy(cur: psycopg.AsyncCursor[Any], table: str, values: Sequence[Sequence[Any]]) -> None:
    async with cur.copy(f"COPY {table} ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
        for row in values:
            await copy.write_row(row)


def _upsert_statement(dialect: str) -> Any:
    """One cached single-row INSERT … ON CONFLICT DO UPDATE; executemany supplies the rows."""
    table = SQLModel.metadata.tables[KpiSample.__tablename__]  # Core, not the ORM bulk path: no identities to track
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return stmt.on_conflict_do_update(index_elements=_KEY, set_={c: stmt.excluded[c] for c in _UPDATED})


async def upsert_samples(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert or update samples keyed by (metric, subject, period, source). Caller commits.

    Each row has metric_id, subject, member_id, team_id, day, period_start, period_end, numerator,
    denominator, source.
    """
    if not rows:
        return 0
    conn = await session.connection()
    now = utcnow()
    if conn.dialect.name == "postgresql":
        await _pg_copy_upsert(conn, rows, now)
    else:
        stmt = _upsert_statement(conn.dialect.name)
        for i in range(0, len(rows), CHUNK):
            await conn.execute(stmt, [{**r, "ingested_at": now} for r in rows[i : i + CHUNK]])
    await refresh_days(session, {(r["team_id"], r["day"]) for r in rows})
    return len(rows)


def _sums_query(days: DateRange, *group_by: Any) -> Any:
    """Per (``group_by``…, metric, day, agent- or team-level): sum of numerators and denominators, sample
    count, and sum of per-sample ratios (for MEAN metrics), over an indexed range of local days."""
    is_team_level = col(KpiSample.member_id).is_(None)
    ratio = case(
        (col(KpiSample.denominator) != 0, col(KpiSample.numerator) / cast(col(KpiSample.denominator), Float)),
        else_=0.0,
    )
    return (
        select(
            *group_by,
            col(Metric.key),
            col(KpiSample.day),
            is_team_level.label("team_level"),
            func.sum(col(KpiSample.numerator)),
            func.sum(col(KpiSample.denominator)),
            func.count(),
            func.sum(ratio),
        )
        .join(Metric, col(Metric.id) == KpiSample.metric_id)
        .where(col(KpiSample.day) >= days.start, col(KpiSample.day) <= days.end)
        .group_by(*group_by, col(Metric.key), col(KpiSample.day), is_team_level)
    )


# Per team, day, metric and level: the sums a team scorecard reads (see tables.KpiDay).
_DAILY_SELECT = (
    "INSERT INTO kpi_day (team_id, day, metric_id, team_level, numerator, denominator, samples, ratio_sum, last_end) "
    "SELECT team_id, day, metric_id, member_id IS NULL, sum(numerator), sum(denominator), count(*), "
    "sum(CASE WHEN denominator <> 0 THEN numerator / denominator ELSE 0 END), max(period_end) FROM kpi_sample "
)
_DAILY_GROUP = "GROUP BY team_id, day, metric_id, member_id IS NULL"
_REBUILD_INSERT = text(f"{_DAILY_SELECT}{_DAILY_GROUP}")
SPANS_PER_STATEMENT = 500  # 3 parameters each, well inside SQLite's and psycopg's limits


async def rebuild_all_days(conn: AsyncConnection) -> None:
    """Rebuild every team's daily sums (after a bulk load that bypassed ``upsert_samples``)."""
    await conn.execute(text("DELETE FROM kpi_day"))
    await conn.execute(_REBUILD_INSERT)


async def refresh_days(session: AsyncSession, touched: Iterable[tuple[int, date]]) -> None:
    """Rebuild ``kpi_day`` for the (team, day)s a write touched (per team, its first to last such day): two
    statements for all the teams, each span an indexed range (an OR of ranges: both databases scan the index
    once per span, where a join with a list of spans may be planned as a scan of the whole table)."""
    spans: dict[int, tuple[date, date]] = {}
    for team_id, day in touched:
        first, last = spans.get(team_id, (day, day))
        spans[team_id] = (min(first, day), max(last, day))
    conn = await session.connection()
    items = sorted(spans.items())
    for i in range(0, len(items), SPANS_PER_STATEMENT):
        chunk = items[i : i + SPANS_PER_STATEMENT]
        where = " OR ".join(f"(team_id = :t{n} AND day BETWEEN :f{n} AND :l{n})" for n in range(len(chunk)))
        params: dict[str, Any] = {}
        for n, (team_id, (first, last)) in enumerate(chunk):
            params |= {f"t{n}": team_id, f"f{n}": first, f"l{n}": last}
        await conn.execute(text(f"DELETE FROM kpi_day WHERE {where}"), params)
        await conn.execute(text(f"{_DAILY_SELECT}WHERE {where} {_DAILY_GROUP}"), params)


def daily_query(days: DateRange, *extra: Any) -> Any:
    """The same shape as ``_sums_query``, read from the per-team daily sums (a team's figures only)."""
    return (
        select(
            *extra,
            col(Metric.key),
            col(KpiDay.day),
            col(KpiDay.team_level),
            col(KpiDay.numerator),
            col(KpiDay.denominator),
            col(KpiDay.samples),
            col(KpiDay.ratio_sum),
        )
        .join(Metric, col(Metric.id) == KpiDay.metric_id)
        .where(col(KpiDay.day) >= days.start, col(KpiDay.day) <= days.end)
    )


def _row(key: Any, day: Any, team_level: Any, n: Any, d: Any, c: Any, r: Any) -> tuple[Any, ...]:
    return (key, day, bool(team_level), float(n or 0), float(d or 0), int(c), float(r or 0))


async def day_sums(
    session: AsyncSession, *, days: DateRange, team_id: int | None = None, member_id: int | None = None
) -> list[DaySums]:
    """Per metric and local day: sums over agents' samples, or the team-level samples where a metric has none.

    Agent samples and team-level samples of one metric would count the same work twice, so a team scorecard
    uses team-level figures only for metrics no agent sample covers in the window.
    """
    if (team_id is None) == (member_id is None):
        raise ValueError("give exactly one of team_id and member_id")
    if team_id is not None:
        query = daily_query(days).where(col(KpiDay.team_id) == team_id)
        return _prefer_agent_level(_row(*row) for row in (await session.execute(query)).all())
    query = _sums_query(days).where(col(KpiSample.member_id) == member_id)
    return _prefer_agent_level(_row(*row) for row in (await session.execute(query)).all())


async def day_sums_by_team(session: AsyncSession, *, days: DateRange) -> dict[int, list[DaySums]]:
    """``day_sums`` for every team at once (one grouped scan), for site-wide reports."""
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for team_id, *rest in (await session.execute(daily_query(days, col(KpiDay.team_id)))).all():
        grouped.setdefault(team_id, []).append(_row(*rest))
    return {team_id: _prefer_agent_level(rows) for team_id, rows in grouped.items()}


def _prefer_agent_level(rows: Iterable[tuple[Any, ...]]) -> list[DaySums]:
    rows = list(rows)
    with_agent_rows = {key for key, _, team_level, *_ in rows if not team_level}
    return [
        DaySums(key, day, n, d, c, r)
        for key, day, team_level, n, d, c, r in rows
        if not team_level or key not in with_agent_rows
    ]


async def latest_sample_end(
    session: AsyncSession, *, days: DateRange, team_id: int | None = None, member_id: int | None = None
) -> datetime | None:
    """End of the newest period in the window: "data up to 14:30"."""
    if team_id is not None:
        query = select(func.max(col(KpiDay.last_end))).where(
            col(KpiDay.team_id) == team_id, col(KpiDay.day) >= days.start, col(KpiDay.day) <= days.end
        )
    else:
        query = select(func.max(col(KpiSample.period_end))).where(
            col(KpiSample.member_id) == member_id, col(KpiSample.day) >= days.start, col(KpiSample.day) <= days.end
        )
    value: datetime | None = (await session.execute(query)).scalar_one()
    return value
