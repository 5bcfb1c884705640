"""SQLite's loop-thread reader: the same team days as the async engine, always current, and unable to write."""

from __future__ import annotations

import logging
from datetime import date

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
from tests.conftest import PG_URL
from tests.support.kpis import add_samples, sample

WINDOW = DateRange(date(2026, 10, 1), date(2026, 11, 18))
sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="the loop reader exists for SQLite files only")


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


async def test_no_loop_reader_for_postgresql_or_an_in_memory_database(deps: Deps) -> None:
    memory = make_engine("sqlite+aiosqlite://")
    try:
        assert loop_reader_for(memory) is None
    finally:
        await memory.dispose()
    assert (deps.loop_reads is None) == bool(PG_URL)


@sqlite_only
async def test_a_failing_loop_read_falls_back_to_the_async_engine(
    org: Deps, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 9, 10))

    def locked(*_: object, **__: object) -> None:
        raise OperationalError("SELECT …", {}, Exception("database is locked"))

    async with org.sessions() as session:
        team = await team_by_key(session, "alpha")
        assert team is not None
        expected = await team_scorecard(org, session, team, PeriodKind.TODAY)  # through the loop reader
    org.scorecards.clear()
    monkeypatch.setattr(LoopReader, "run", locked)
    async with org.sessions() as session:
        card = await team_scorecard(org, session, team, PeriodKind.TODAY)
    assert card == expected  # the async engine's read (a window function for each day's end) agrees
    assert card.data_up_to is not None
    assert {line.metric.key: line.value for line in card.lines}["csat"] == 90.0
    assert "loop read failed (OperationalError)" in caplog.text
    assert all(r.levelno == logging.WARNING for r in caplog.records if "loop read" in r.message)
