"""A team's KPI days for /kpi (``TeamDays``): one indexed range read of ``kpi_day``, serving every period.

Three ways to the same days (a test holds them equal): the async engine (``team_days``, the fallback), and the
hot reads on the loop thread (bot/store/hot_reads.py) straight through sqlite3 or psycopg, which skip converting
every row's date and SQLAlchemy's result layers.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from sqlalchemy import Select, func, null, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from bot.domain.periods import DateRange
from bot.domain.team_days import TeamDays
from bot.store.kpis import daily_query
from bot.store.tables import KpiDay


async def team_days(session: AsyncSession, *, days: DateRange, team_id: int) -> TeamDays:
    """A team's daily sums over ``days`` (indexed range reads of ``kpi_day``), for any period inside it."""
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        return await _pg_team_days(conn, days, team_id)
    sums, ends = _team_days_queries(days, team_id)
    return TeamDays.of(days, (await conn.execute(sums)).all(), (await conn.execute(ends)).all())


def team_days_sqlite(conn: sqlite3.Connection, *, days: DateRange, team_id: int) -> TeamDays:
    """``team_days`` straight through sqlite3 (a hot read on the loop thread: bot/store/hot_reads.py): the day
    offsets come from SQL and only each day's newest end is parsed, where the Core queries converted every row's
    date (2.5 ms against 0.8 ms for a team's 480 rows, bench/kpi_latency.py's data; a burst of cold teams queues
    every request behind this CPU)."""
    first, last = days.start.isoformat(), days.end.isoformat()
    sums = conn.execute(_SQLITE_TEAM_DAYS, (first, team_id, first, last)).fetchall()
    ends = conn.execute(_SQLITE_TEAM_ENDS, (first, team_id, first, last)).fetchall()
    return TeamDays.indexed(days, sums, ((i, _sqlite_utc(end)) for i, end in ends))


def _sqlite_utc(stored: str) -> datetime:
    """A UTCDateTime as SQLite holds it (naive UTC text) → an aware datetime."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


_SQLITE_DAY = "CAST(julianday(d.day) - julianday(?) AS INTEGER)"  # the day's offset from the first day read
_SQLITE_TEAM_DAYS = (
    f"SELECT m.key, {_SQLITE_DAY}, d.team_level, d.numerator, d.denominator, d.samples, d.ratio_sum, NULL "
    "FROM kpi_day d JOIN metric m ON m.id = d.metric_id WHERE d.team_id = ? AND d.day BETWEEN ? AND ?"
)
_SQLITE_TEAM_ENDS = (  # each day's newest end apart: a window function as on PostgreSQL doubles SQLite's time
    f"SELECT {_SQLITE_DAY}, max(d.last_end) FROM kpi_day d WHERE d.team_id = ? AND d.day BETWEEN ? AND ? GROUP BY d.day"
)


def _team_days_queries(days: DateRange, team_id: int) -> tuple[Any, Select[date, datetime]]:
    """The sums per (metric, day, level), and each day's newest figure's end in a small grouped read of its own,
    so the timestamps of the hundreds of sums rows are never converted."""
    in_window = (col(KpiDay.team_id) == team_id, col(KpiDay.day) >= days.start, col(KpiDay.day) <= days.end)
    sums = daily_query(days).add_columns(null()).where(col(KpiDay.team_id) == team_id)
    ends = select(col(KpiDay.day), func.max(col(KpiDay.last_end))).where(*in_window).group_by(col(KpiDay.day))
    return sums, ends


# Each day's newest figure's end rides on one row of that day (the others carry NULL): one round trip.
_PG_TEAM_DAYS = (
    "SELECT m.key, d.day - %s, d.team_level, d.numerator, d.denominator, d.samples, d.ratio_sum, "
    "CASE WHEN row_number() OVER (PARTITION BY d.day ORDER BY d.last_end DESC) = 1 THEN d.last_end END "
    "FROM kpi_day d JOIN metric m ON m.id = d.metric_id WHERE d.team_id = %s AND d.day BETWEEN %s AND %s"
)


async def _pg_team_days(conn: AsyncConnection, days: DateRange, team_id: int) -> TeamDays:
    """/kpi's read of a team not yet cached, straight through psycopg with binary results: the same query
    through SQLAlchemy's execution and result layers cost 2.5x the CPU (3.2 ms against 1.3 ms for a team's 480
    rows, bench/kpi_latency.py's data), and under a burst of cold teams that CPU is the queue everyone waits in."""
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    async with raw.cursor(binary=True) as cur:
        await cur.execute(_PG_TEAM_DAYS, _pg_params(days, team_id))
        return _in_utc(TeamDays.indexed(days, await cur.fetchall()))


def team_days_pg(conn: psycopg.Connection[Any], *, days: DateRange, team_id: int) -> TeamDays:
    """``team_days`` on a synchronous psycopg connection (a hot read on the loop thread: bot/store/hot_reads.py)."""
    with conn.cursor(binary=True) as cur:
        cur.execute(_PG_TEAM_DAYS, _pg_params(days, team_id))
        return _in_utc(TeamDays.indexed(days, cur.fetchall()))


def _pg_params(days: DateRange, team_id: int) -> tuple[date, int, date, date]:
    return days.start, team_id, days.start, days.end


def _in_utc(out: TeamDays) -> TeamDays:
    out.last_end[:] = [None if end is None else end.astimezone(UTC) for end in out.last_end]  # the session's zone
    return out
