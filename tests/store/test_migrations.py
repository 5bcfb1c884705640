"""Alembic is the schema path: migrations build the same schema as the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlmodel import SQLModel

from bot.store.db import make_engine
from bot.store.migrate import current_revision, head_revision, upgrade
from tests.conftest import PG_URL, reset_postgres


async def test_upgrade_creates_the_models_schema_and_is_repeatable(tmp_path: Path) -> None:
    url = PG_URL or f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    if PG_URL:
        await reset_postgres(PG_URL)
    engine = make_engine(url)
    try:
        await upgrade(engine)
        await upgrade(engine)  # a second run (a restart, a second replica) is a no-op
        assert await current_revision(engine) == head_revision()

        def diff(conn: Connection) -> list[object]:
            return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))

        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()
        if PG_URL:
            await reset_postgres(PG_URL)
