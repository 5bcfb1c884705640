"""rhythm apikey create | list | revoke, as an operator runs them, and what the API then makes of the key."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from bot.api.app import create_asgi_app
from bot.cli import app
from bot.config import Settings
from bot.deps import build_deps
from bot.store.tables import ApiKey, AuditEvent

KEY = re.compile(r"rhy_[A-Za-z0-9_-]{43}")


@pytest.fixture
def run(cli_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RHYTHM_DATABASE_URL", cli_db_url)
    monkeypatch.setenv("COLUMNS", "200")  # keep rich from wrapping the lines the tests read
    monkeypatch.chdir(tmp_path)  # no stray .env or database in the repo

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(app, ["apikey", *args], catch_exceptions=False)

    return invoke


def post_with(url: str, key: str) -> int:
    """Status of an (empty) ingest request with ``key``, through the real app on the CLI's database."""

    async def post() -> int:
        settings = Settings(_env_file=None, slack_bot_token="xoxb-t", slack_signing_secret="s", database_url=url)
        deps = build_deps(settings)
        try:
            transport = httpx.ASGITransport(app=create_asgi_app(settings, deps=deps))
            async with httpx.AsyncClient(transport=transport, base_url="http://rhythm") as client:
                auth = {"Authorization": f"Bearer {key}"}
                return (await client.post("/api/v1/kpi-samples", json={"samples": []}, headers=auth)).status_code
        finally:
            await deps.engine.dispose()

    return asyncio.run(post())


def stored(url: str) -> tuple[list[ApiKey], list[tuple[str, str]]]:
    async def load() -> tuple[list[ApiKey], list[tuple[str, str]]]:
        deps = build_deps(Settings(_env_file=None, database_url=url))
        try:
            async with deps.sessions() as session:
                keys = list((await session.execute(select(ApiKey))).scalars())
                events = [(e.action, e.subject) for e in (await session.execute(select(AuditEvent))).scalars()]
                return keys, events
        finally:
            await deps.engine.dispose()

    return asyncio.run(load())


def test_create_prints_the_key_once_and_list_never_shows_it(run, cli_db_url: str) -> None:  # type: ignore[no-untyped-def]
    created = run("create", "wfm")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert KEY.fullmatch(key), "stdout carries the key and nothing else"
    assert created.output.count(key) == 1
    assert "shown only this once" in created.stderr

    listed = run("list")
    assert listed.exit_code == 0 and "wfm" in listed.output and "active" in listed.output
    assert not KEY.search(listed.output)
    (row,), events = stored(cli_db_url)
    assert row.key_hash not in listed.output and row.key_hash != key
    assert ("apikey.create", "wfm") in events
    assert post_with(cli_db_url, key) == 200


def test_revoked_key_gets_401(run, cli_db_url: str) -> None:  # type: ignore[no-untyped-def]
    key = run("create", "zendesk").stdout.strip()
    assert post_with(cli_db_url, key) == 200

    revoked = run("revoke", "zendesk")
    assert revoked.exit_code == 0 and "Revoked API key 'zendesk'" in revoked.output
    assert post_with(cli_db_url, key) == 401
    assert "already revoked" in run("revoke", "zendesk").output
    assert "revoked 20" in run("list").output
    assert [e for e in stored(cli_db_url)[1] if e[0] == "apikey.revoke"] == [("apikey.revoke", "zendesk")]


def test_names_are_checked_and_never_reused(run) -> None:  # type: ignore[no-untyped-def]
    assert run("create", "wfm").exit_code == 0
    again = run("create", "wfm")
    assert again.exit_code == 1 and "already exists" in again.output and not KEY.search(again.output)
    assert run("revoke", "wfm").exit_code == 0
    assert run("create", "wfm").exit_code == 1  # not even once revoked: audit rows name the key
    for bad_name in ("has space", "wfm2\n", "-flag-like", "x" * 65):
        bad = run("create", bad_name)
        assert bad.exit_code != 0 and not KEY.search(bad.output), bad_name
    assert "letters, digits" in run("create", "has space").output


def test_revoking_an_unknown_key_says_so(run) -> None:  # type: ignore[no-untyped-def]
    result = run("revoke", "nope")
    assert result.exit_code == 1 and "No API key named 'nope'" in result.output
    assert "No API keys yet" in run("list").output
