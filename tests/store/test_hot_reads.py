"""The hot-read paths for a team's KPI days — SQLite on the loop thread, PostgreSQL on reader threads: the same
days as the async engine, always current, unable to write, and a failure falls back to the async engine."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.deps import Deps
from bot.domain.periods import DateRange, PeriodKind
from bot.services.kpi import team_scorecard
from bot.store import kpis
from bot.store.db import make_engine
from bot.store.loop_reads import LoopReader, loop_reader_for
from bot.store.org import team_by_key
from bot.store.thread_reads import APPLICATION_NAME, ThreadReader, thread_reader_for
from tests.conftest import PG_URL
from tests.support.kpis import add_samples, sample

WINDOW = DateRange(date(2026, 10, 1), date(2026, 11, 18))
sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="the loop reader exists for SQLite files only")
postgres_only = pytest.mark.skipif(not PG_URL, reason="the reader threads exist for PostgreSQL only")


async def _alpha_id(deps: Deps) -> int:
    async with deps.sessions() as session:
        team = await team_by_key(session, "alpha")
    assert team is not None
    return team.id


@sqlite_only
async def test_loop_reader_reads_what_the_async_engine_reads_and_sees_every_commit(org: Deps) -> None:
    assert org.loop_reads is not None
    team_id = await _alpha_id(org)
    await add_samples(
        org, sample("csat", "thandi@example.com", "2026-11-17", 8, 10), sample("qa", "team:alpha", "2026-11-18", 3, 4)
    )
    first = org.loop_reads.run(kpis.team_days_sync, days=WINDOW, team_id=team_id)
    async with org.sessions() as session:
        assert first == await kpis.team_days(session, days=WINDOW, team_id=team_id)
    assert first.agent["csat"][(date(2026, 11, 17) - WINDOW.start).days] is not None
    assert first.last_end[-1] is not None and first.last_end[-1].tzinfo is not None  # aware UTC, as everywhere

    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 1, 2))  # committed after the read
    again = org.loop_reads.run(kpis.team_days_sync, days=WINDOW, team_id=team_id)
    assert again != first
    async with org.sessions() as session:
        assert again == await kpis.team_days(session, days=WINDOW, team_id=team_id)


@sqlite_only
async def test_loop_reader_cannot_write(org: Deps) -> None:
    assert org.loop_reads is not None
    with pytest.raises(OperationalError, match="readonly"):
        org.loop_reads.run(lambda conn: conn.execute(text("DELETE FROM team")))
    assert await _alpha_id(org)  # still there


async def test_each_database_gets_its_reader(deps: Deps) -> None:
    memory = make_engine("sqlite+aiosqlite://")
    try:
        assert loop_reader_for(memory) is None and thread_reader_for(memory) is None
    finally:
        await memory.dispose()
    assert (deps.loop_reads is None, deps.thread_reads is None) == ((True, False) if PG_URL else (False, True))


@postgres_only
async def test_reader_threads_read_what_the_async_engine_reads_and_cannot_write(org: Deps) -> None:
    assert org.thread_reads is not None
    team_id = await _alpha_id(org)
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-17", 8, 10))
    async with org.sessions() as session:
        expected = await kpis.team_days(session, days=WINDOW, team_id=team_id)
    assert await org.thread_reads.run(kpis.team_days_pg, days=WINDOW, team_id=team_id) == expected
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 1, 2))  # autocommit: seen at once
    again = await org.thread_reads.run(kpis.team_days_pg, days=WINDOW, team_id=team_id)
    assert again != expected and again.agent["csat"][-1] is not None

    def write(conn: psycopg.Connection[Any]) -> None:
        conn.execute("DELETE FROM team")

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        await org.thread_reads.run(write)
    assert await _alpha_id(org)


@postgres_only
async def test_a_reader_connection_killed_by_the_server_is_replaced(
    org: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    """A PostgreSQL restart (here: its connections terminated): each thread's next read finds its connection
    closed, opens a new one and reads again, so nobody notices; disposing closes every reader connection."""
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 9, 10))
    reader = org.thread_reads
    assert reader is not None
    team_id = await _alpha_id(org)
    await reader.run(kpis.team_days_pg, days=WINDOW, team_id=team_id)  # a reader thread with its connection
    terminate = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        f" WHERE application_name = '{APPLICATION_NAME}' AND pid <> pg_backend_pid()"
    )
    async with org.engine.connect() as conn:
        assert (await conn.execute(terminate)).scalar_one() >= 1
    async with org.sessions() as session:
        team = await team_by_key(session, "alpha")
        assert team is not None
        card = await team_scorecard(org, session, team, PeriodKind.TODAY)
    assert {line.metric.key: line.value for line in card.lines}["csat"] == 90.0
    assert (await reader.run(kpis.team_days_pg, days=WINDOW, team_id=team_id)).agent["csat"]
    assert "hot read failed" not in caplog.text  # the closed connection was replaced: no fallback needed
    reader.dispose()
    count = text(f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{APPLICATION_NAME}'")
    async with org.engine.connect() as conn:
        assert (await conn.execute(count)).scalar_one() == 0


async def test_a_failing_hot_read_falls_back_to_the_async_engine(
    org: Deps, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 9, 10))

    def locked(*_: object, **__: object) -> None:
        raise OperationalError("SELECT …", {}, Exception("database is locked"))

    async def restarting(*_: object, **__: object) -> None:
        raise psycopg.OperationalError("the database system is shutting down")

    async with org.sessions() as session:
        team = await team_by_key(session, "alpha")
        assert team is not None
        expected = await team_scorecard(org, session, team, PeriodKind.TODAY)  # through the hot read
    org.scorecards.clear()
    monkeypatch.setattr(LoopReader, "run", locked)
    monkeypatch.setattr(ThreadReader, "run", restarting)
    async with org.sessions() as session:
        card = await team_scorecard(org, session, team, PeriodKind.TODAY)
    assert card == expected  # the async engine's read agrees
    assert card.data_up_to is not None
    assert {line.metric.key: line.value for line in card.lines}["csat"] == 90.0
    assert "hot read failed (OperationalError)" in caplog.text
    assert all(r.levelno == logging.WARNING for r in caplog.records if "hot read" in r.message)
