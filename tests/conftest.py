"""Fixtures: a real database (SQLite in memory, or PostgreSQL when RHYTHM_TEST_DATABASE_URL is set), the fake
Slack Web API on 127.0.0.1, a fixed clock, and the ASGI app under test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.api.app import create_asgi_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.deps import Deps, build_deps
from bot.ingest.roster import import_roster
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import interaction_body, signed_headers, slash_command_body
from bot.store.db import create_all, drop_all, make_engine
from bot.store.org import apply_org
from tests.support.org import ROSTER, org_spec

SECRET = "test-signing-secret"
PG_URL = os.environ.get("RHYTHM_TEST_DATABASE_URL", "")
# Wednesday 18 Nov 2026, 14:30 in Durban.
NOW = datetime(2026, 11, 18, 14, 30, tzinfo=ZoneInfo("Africa/Johannesburg"))


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + PG_URL.split('@')[-1] if PG_URL else 'SQLite (a file per test)'}"


async def reset_postgres(url: str) -> None:
    """Drop every table (and Alembic's bookkeeping) so each test starts from an empty database."""
    engine = make_engine(url)
    try:
        await drop_all(engine)
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await engine.dispose()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    # A file, not ":memory:": an in-memory database lives on one shared connection, so concurrent sessions
    # would not be isolated from each other as they are in production.
    return PG_URL or f"sqlite+aiosqlite:///{tmp_path / 'rhythm.db'}"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    if PG_URL:
        await reset_postgres(PG_URL)
    eng = make_engine(db_url)
    await create_all(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def cli_db_url(tmp_path: Path) -> str:
    """A database URL for CLI runs (which open their own engine): a SQLite file, or the emptied PostgreSQL."""
    if PG_URL:
        asyncio.run(reset_postgres(PG_URL))
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def settings(fake_slack: FakeSlack, db_url: str) -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=db_url,
    )


@pytest.fixture
def deps(settings: Settings, engine: AsyncEngine, clock: FixedClock) -> Iterator[Deps]:
    built = build_deps(settings, clock=clock, engine=engine)
    yield built
    if built.hot_reads is not None:  # the engine fixture disposes the engine
        built.hot_reads.dispose()


@pytest.fixture
async def org(deps: Deps) -> Deps:
    """The test org (tests/support/org.py) applied to the database."""
    async with deps.sessions() as session:
        await apply_org(session, org_spec())
        result = await import_roster(session, ROSTER)
        assert not result.errors
        await session.commit()
    return deps


@pytest.fixture
async def client(deps: Deps) -> AsyncIterator[httpx.AsyncClient]:
    asgi = create_asgi_app(deps.settings, deps=deps)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://rhythm") as c:
        yield c


SlashCommand = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def slash(client: httpx.AsyncClient, fake_slack: FakeSlack) -> SlashCommand:
    """Send a correctly signed slash command as Slack would; returns the HTTP response (the ack)."""

    async def send(user_id: str, text: str, *, command: str = "/kpi", secret: str = SECRET, ts: int | None = None):
        body = slash_command_body(command, text, user_id=user_id, response_url=fake_slack.url + "hook")
        return await client.post("/slack/events", content=body, headers=signed_headers(secret, body, ts=ts))

    return send


Interaction = Callable[[dict[str, Any]], Awaitable[httpx.Response]]


@pytest.fixture
def interact(client: httpx.AsyncClient) -> Interaction:
    """Post a signed interaction payload (button click, modal submission) as Slack would; returns the ack."""

    async def send(payload: dict[str, Any]) -> httpx.Response:
        body = interaction_body(payload)
        return await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))

    return send
