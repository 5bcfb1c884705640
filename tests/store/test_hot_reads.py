"""The hot read of a team's KPI days on the loop thread (SQLite file and PostgreSQL): the same days as the async
engine, always current, unable to write, never waiting for a writer, and a failure falls back to the async
engine."""

from __future__ import annotations

import logging
import sqlite3
import time
from datetime import date
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.deps import Deps, build_deps
from bot.domain.periods import DateRange, PeriodKind
from bot.services.kpi import team_scorecard
from bot.store import team_day_reads
from bot.store.db import make_engine
from bot.store.hot_reads import (
    APPLICATION_NAME,
    HotReadUnavailable,
    LoopReader,
    PgLoopReader,
    SqliteLoopReader,
    loop_reader_for,
)
from bot.store.org import team_by_key
from tests.conftest import PG_URL
from tests.support.kpis import add_samples, sample

WINDOW = DateRange(date(2026, 10, 1), date(2026, 11, 18))
sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="a SQLite file's reader only")
postgres_only = pytest.mark.skipif(not PG_URL, reason="PostgreSQL's reader only")


async def _alpha_id(deps: Deps) -> int:
    async with deps.sessions() as session:
        team = await team_by_key(session, "alpha")
    assert team is not None
    return team.id


def _read(deps: Deps) -> Any:
    assert deps.hot_reads is not None
    return team_day_reads.team_days_pg if deps.hot_reads.dialect == "postgresql" else team_day_reads.team_days_sqlite


async def test_the_hot_read_is_what_the_async_engine_reads_and_sees_every_commit(org: Deps) -> None:
    reader = org.hot_reads
    assert reader is not None
    team_id = await _alpha_id(org)
    await add_samples(
        org, sample("csat", "thandi@example.com", "2026-11-17", 8, 10), sample("qa", "team:alpha", "2026-11-18", 3, 4)
    )
    first = await reader.run(_read(org), days=WINDOW, team_id=team_id)
    async with org.sessions() as session:
        assert first == await team_day_reads.team_days(session, days=WINDOW, team_id=team_id)
    assert first.agent["csat"].samples[(date(2026, 11, 17) - WINDOW.start).days] == 1
    assert first.last_end[-1] is not None and first.last_end[-1].tzinfo is not None  # aware UTC, as everywhere

    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 1, 2))  # committed after the read
    again = await reader.run(_read(org), days=WINDOW, team_id=team_id)
    assert again != first and again.agent["csat"].samples[-1] == 1
    async with org.sessions() as session:
        assert again == await team_day_reads.team_days(session, days=WINDOW, team_id=team_id)


async def test_the_hot_reader_cannot_write(org: Deps) -> None:
    reader = org.hot_reads
    assert reader is not None

    def write(conn: Any) -> None:
        conn.execute("DELETE FROM team")

    refused = psycopg.errors.ReadOnlySqlTransaction if PG_URL else sqlite3.OperationalError
    with pytest.raises(refused, match=r"read-only|readonly"):
        await reader.run(write)
    assert await _alpha_id(org)  # still there
    assert await reader.run(lambda conn: conn.execute("SELECT count(*) FROM team").fetchone()[0]) >= 1  # usable


@sqlite_only
async def test_a_sqlite_hot_read_does_not_wait_for_a_writer(org: Deps) -> None:
    """WAL: a reader sees the last commit while another connection holds the write lock mid-transaction."""
    reader = org.hot_reads
    assert isinstance(reader, SqliteLoopReader)
    team_id = await _alpha_id(org)
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-17", 8, 10))
    writer = sqlite3.connect(reader.path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM kpi_day")
        days = await reader.run(team_day_reads.team_days_sqlite, days=WINDOW, team_id=team_id)
        assert days.agent["csat"].samples[(date(2026, 11, 17) - WINDOW.start).days] == 1
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@sqlite_only
async def test_a_sqlite_read_left_in_a_transaction_does_not_wedge_the_reader(org: Deps) -> None:
    reader = org.hot_reads
    assert isinstance(reader, SqliteLoopReader)
    team_id = await _alpha_id(org)
    (await reader._connection()).execute("BEGIN")  # as if a read's ROLLBACK had failed
    days = await reader.run(team_day_reads.team_days_sqlite, days=WINDOW, team_id=team_id)
    assert days.first == WINDOW.start


async def test_each_database_gets_its_reader_unless_turned_off(deps: Deps, settings: Settings) -> None:
    memory = make_engine("sqlite+aiosqlite://")
    try:
        assert loop_reader_for(memory) is None  # an in-memory database has one connection: the engine's
    finally:
        await memory.dispose()
    assert isinstance(deps.hot_reads, PgLoopReader if PG_URL else SqliteLoopReader)
    off = build_deps(settings.model_copy(update={"hot_reads": False}), engine=deps.engine)
    assert off.hot_reads is None


@postgres_only
async def test_the_postgres_reader_is_bounded_by_server_side_timeouts(org: Deps) -> None:
    reader = org.hot_reads
    assert reader is not None
    shown = await reader.run(
        lambda conn: conn.execute(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'),"
            " current_setting('transaction_read_only')"
        ).fetchone()
    )
    assert shown == ("250ms", "100ms", "on")
    with pytest.raises(psycopg.errors.QueryCanceled):
        await reader.run(lambda conn: conn.execute("SELECT pg_sleep(1)"))
    assert await _alpha_id(org)


@postgres_only
async def test_a_reader_connection_killed_by_the_server_is_replaced(
    org: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    """A PostgreSQL restart (here: its connection terminated): the next read finds the connection closed, opens a
    new one and reads again, so nobody notices; disposing closes it."""
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 9, 10))
    reader = org.hot_reads
    assert reader is not None
    team_id = await _alpha_id(org)
    await reader.run(team_day_reads.team_days_pg, days=WINDOW, team_id=team_id)  # the reader's connection is open
    terminate = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        f" WHERE application_name = '{APPLICATION_NAME}' AND pid <> pg_backend_pid()"
    )
    async with org.engine.connect() as conn:
        assert (await conn.execute(terminate)).scalar_one() == 1
    async with org.sessions() as session:
        team = await team_by_key(session, "alpha")
        assert team is not None
        card = await team_scorecard(org, session, team, PeriodKind.TODAY)
    assert {line.metric.key: line.value for line in card.lines}["csat"] == 90.0
    assert "hot read failed" not in caplog.text  # the closed connection was replaced: no fallback needed
    reader.dispose()
    count = text(f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{APPLICATION_NAME}'")
    async with org.engine.connect() as conn:
        assert (await conn.execute(count)).scalar_one() == 0
    with pytest.raises(HotReadUnavailable, match="closed"):
        await reader.run(team_day_reads.team_days_pg, days=WINDOW, team_id=team_id)


async def test_a_failing_hot_read_falls_back_to_the_async_engine(
    org: Deps, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 9, 10))

    async def failing(*_: object, **__: object) -> None:
        if PG_URL:
            raise psycopg.OperationalError("the database system is shutting down")
        raise sqlite3.OperationalError("database is locked")

    async with org.sessions() as session:
        team = await team_by_key(session, "alpha")
        assert team is not None
        expected = await team_scorecard(org, session, team, PeriodKind.TODAY)  # through the hot read
    org.scorecards.clear()
    monkeypatch.setattr(LoopReader, "run", failing)
    async with org.sessions() as session:
        card = await team_scorecard(org, session, team, PeriodKind.TODAY)
    assert card == expected  # the async engine's read agrees
    assert card.data_up_to is not None
    assert {line.metric.key: line.value for line in card.lines}["csat"] == 90.0
    assert "hot read failed (OperationalError)" in caplog.text
    assert all(r.levelno == logging.WARNING for r in caplog.records if "hot read" in r.message)


async def test_after_a_failed_connect_reads_fall_back_at_once_for_a_while() -> None:
    """Nothing listens on port 1: the first read fails connecting; the reads queued behind it must not each wait
    for another attempt, so for ``RETRY_CONNECT_AFTER`` seconds they are refused at once (and fall back)."""
    reader = PgLoopReader(make_url("postgresql+psycopg://rhythm@127.0.0.1:1/none"))
    with pytest.raises(psycopg.OperationalError):
        await reader.run(lambda conn: None)
    started = time.monotonic()
    with pytest.raises(HotReadUnavailable, match="a moment ago"):
        await reader.run(lambda conn: None)
    assert time.monotonic() - started < 0.1
    reader.dispose()


async def test_a_reader_disposed_while_connecting_closes_what_it_opened(tmp_path: Any) -> None:
    opened: list[sqlite3.Connection] = []

    class Slow(SqliteLoopReader):
        async def _open(self) -> sqlite3.Connection:
            conn = await super()._open()
            opened.append(conn)
            self.dispose()  # shutdown arrives while the connection is being made
            return conn

    reader = Slow(str(tmp_path / "x.db"))
    with pytest.raises(HotReadUnavailable, match="closed"):
        await reader.run(lambda conn: None)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")


@postgres_only
async def test_the_postgres_reader_keeps_the_options_given_in_the_url() -> None:
    assert PG_URL is not None
    reader = PgLoopReader(make_url(PG_URL).update_query_dict({"options": "-c work_mem=7MB"}))
    try:
        got = await reader.run(
            lambda conn: conn.execute(
                "SELECT current_setting('work_mem'), current_setting('statement_timeout')"
            ).fetchone()
        )
    finally:
        reader.dispose()
    assert got == ("7MB", "250ms")
