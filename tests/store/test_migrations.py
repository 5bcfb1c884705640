"""Alembic is the schema path: migrations build the same schema as the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from bot.store.db import make_engine
from bot.store.migrate import current_revision, head_revision, include_object, upgrade
from tests.conftest import PG_URL, reset_postgres


@pytest.fixture
async def empty_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a database with no schema at all (the emptied PostgreSQL, or a new SQLite file)."""
    url = PG_URL or f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    if PG_URL:
        await reset_postgres(PG_URL)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        if PG_URL:
            await reset_postgres(PG_URL)


async def test_upgrade_creates_the_models_schema_and_is_repeatable(empty_engine: AsyncEngine) -> None:
    engine = empty_engine
    await upgrade(engine)
    await upgrade(engine)  # a second run (a restart, a second replica) is a no-op
    assert await current_revision(engine) == head_revision()

    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"include_object": include_object(conn.dialect.name)})
        return list(compare_metadata(context, SQLModel.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_upgrading_a_database_with_data_keeps_it(empty_engine: AsyncEngine) -> None:
    """A site on an older revision upgrades in place: existing teams get the new columns' defaults."""
    from bot.store.db import make_session_factory
    from bot.store.tables import Team

    engine = empty_engine
    await upgrade(engine, "0002")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO team (key, name, timezone, working_days, holidays, snapshot_times, privacy_mode,"
                " created_at, updated_at) VALUES ('alpha', 'Alpha', 'Africa/Johannesburg', 'mon', '[]', '[]',"
                " 'names', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    await upgrade(engine)
    async with make_session_factory(engine)() as session:
        (team,) = (await session.execute(select(Team))).scalars().all()
    assert (team.key, team.adherence) == ("alpha", {})


async def test_schedule_segment_ids_are_not_reused_after_the_upgrade(empty_engine: AsyncEngine) -> None:
    """0009: a re-publish deletes the day's last segments and inserts new ones; their ids must be new ones, or the
    scan's segment cache (count and highest id) cannot tell the schedule changed. Rows survive the upgrade."""
    engine = empty_engine
    insert = (
        'INSERT INTO schedule_segment (member_id, start, "end", activity, source)'
        " VALUES (1, '2026-11-18 06:00:00', '2026-11-18 10:00:00', :activity, 'import')"
    )
    await upgrade(engine, "0008")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO member (id, email, name, role, active, created_at, updated_at)"
                " VALUES (1, 'a@example.com', 'A', 'agent', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        for activity in ("open", "lunch"):
            await conn.execute(text(insert), {"activity": activity})
    await upgrade(engine)
    async with engine.begin() as conn:
        kept = (await conn.execute(text("SELECT id, activity FROM schedule_segment ORDER BY id"))).all()
        assert [a for _, a in kept] == ["open", "lunch"]
        await conn.execute(text("DELETE FROM schedule_segment WHERE id = :id"), {"id": kept[-1][0]})
        await conn.execute(text(insert), {"activity": "lunch"})
        newest = (await conn.execute(text("SELECT max(id) FROM schedule_segment"))).scalar_one()
    assert newest > kept[-1][0]


async def test_kpi_day_is_stored_for_a_teams_range_read_after_the_upgrade(empty_engine: AsyncEngine) -> None:
    """0010: on SQLite kpi_day becomes its primary key's B-tree (WITHOUT ROWID), on PostgreSQL it gains a covering
    index for a team's days; its rows survive."""
    engine = empty_engine
    await upgrade(engine, "0009")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO team (id, key, name, timezone, working_days, holidays, snapshot_times, privacy_mode,"
                " adherence, huddle, coaching, created_at, updated_at) VALUES (1, 'alpha', 'Alpha',"
                " 'Africa/Johannesburg', 'mon', '[]', '[]', 'names', '{}', '{}', '{}', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO metric (id, key, label, unit, higher_is_better, aggregation, scale, position)"
                " VALUES (1, 'csat', 'CSAT', 'percent', true, 'ratio', 100, 1)"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO kpi_day (team_id, day, metric_id, team_level, numerator, denominator, samples,"
                " ratio_sum, last_end) VALUES (1, '2026-11-18', 1, false, 9, 10, 2, 1.8, '2026-11-18 09:00:00')"
            )
        )
    await upgrade(engine)
    async with engine.connect() as conn:
        kept = (await conn.execute(text("SELECT team_id, numerator, samples FROM kpi_day"))).all()
        if conn.dialect.name == "sqlite":
            ddl = "SELECT sql FROM sqlite_master WHERE name = 'kpi_day'"
            assert (await conn.execute(text(ddl))).scalar_one().rstrip().endswith("WITHOUT ROWID")
        else:
            index = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_kpi_day_team_days'"
            assert "(team_id, day) INCLUDE (metric_id" in (await conn.execute(text(index))).scalar_one()
    assert [tuple(r) for r in kept] == [(1, 9.0, 2)]
