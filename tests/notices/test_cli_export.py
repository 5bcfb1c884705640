"""``rhythm export notices [--since DATE] [--out PATH]``: the CSV, exactly, as an operator gets it."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col
from typer.testing import CliRunner

from bot.cli import app
from bot.domain.notice_export import COLUMNS
from bot.domain.notices import NoticeContent, content_hash
from bot.ingest.roster import import_roster
from bot.store import notice_acks, notices
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.org import apply_org, member_by, team_by_key
from bot.store.tables import Member
from tests.support.org import ROSTER, org_spec

PUBLISHED = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
ACKED = datetime(2026, 11, 2, 9, 15, 30, tzinfo=UTC)
OLD = NoticeContent("Old process", "Before.", None, date(2026, 10, 1))
NEW = NoticeContent(
    "Chat greeting", "Use the new greeting, =from today.", "https://wiki.example.com/greet", date(2026, 11, 3)
)


async def _prepare(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
        sessions = make_session_factory(engine)
        async with sessions() as session:
            await apply_org(session, org_spec())
            assert not (await import_roster(session, ROSTER)).errors
            alpha = await team_by_key(session, "alpha")
            lead = await member_by(session, email="lead.alpha@example.com")
            thandi = await member_by(session, email="thandi@example.com")
            assert alpha and lead and thandi
            await notices.create_notice(
                session,
                author_id=lead.id,
                team_ids=[alpha.id],
                content=OLD,
                deadline=None,
                now=PUBLISHED - timedelta(days=30),
            )
            v1 = await notices.create_notice(
                session, author_id=lead.id, team_ids=[alpha.id], content=NEW, deadline=None, now=PUBLISHED
            )
            await notice_acks.record_ack(
                session, version_id=v1.id, member_id=thandi.id, team_id=alpha.id, seen_number=1, now=ACKED
            )
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture
def prepared(cli_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("RHYTHM_DATABASE_URL", cli_db_url)
    monkeypatch.chdir(tmp_path)
    asyncio.run(_prepare(cli_db_url))
    return tmp_path


def test_export_notices_since_a_date_to_a_file(prepared: Path) -> None:
    out = prepared / "acks.csv"
    result = CliRunner().invoke(app, ["export", "notices", "--since", "2026-11-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    h = content_hash(NEW)
    assert out.read_text(encoding="utf-8").splitlines() == [
        ",".join(COLUMNS),
        f"2,Chat greeting,1,{h},Team Alpha,Ayesha Pillay,ayesha@example.com,outstanding,,",
        f"2,Chat greeting,1,{h},Team Alpha,Sipho Dlamini,sipho@example.com,outstanding,,",
        f"2,Chat greeting,1,{h},Team Alpha,Thandi Nkosi,thandi@example.com,2026-11-02T09:15:30Z,,",
    ]
    assert "Wrote 3 rows" in result.output


def test_export_notices_to_stdout_has_every_notice(prepared: Path) -> None:
    result = CliRunner().invoke(app, ["export", "notices"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 1 + 3 + 3
    assert lines[1].startswith("1,Old process,1,")


def test_a_bad_since_date_is_explained(prepared: Path) -> None:
    result = CliRunner().invoke(app, ["export", "notices", "--since", "1/11/2026"])
    assert result.exit_code == 2 and "--since must be a date like 2026-11-01" in result.output


async def _later_records(url: str) -> None:
    """Thandi moves to Bravo after acknowledging; Sipho acknowledges the old notice at 00:30 on 1 Nov in Durban
    (22:30 UTC on 31 Oct)."""
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            alpha, bravo = await team_by_key(session, "alpha"), await team_by_key(session, "bravo")
            thandi = await member_by(session, email="thandi@example.com")
            sipho = await member_by(session, email="sipho@example.com")
            old = await notices.version(session, 1, 1)
            assert alpha and bravo and thandi and sipho and old
            await notice_acks.record_ack(
                session, version_id=old.id, member_id=sipho.id, team_id=alpha.id, seen_number=1, now=LATE_ACK
            )
            await session.execute(update(Member).where(col(Member.id) == thandi.id).values(team_id=bravo.id))
            await session.commit()
    finally:
        await engine.dispose()


LATE_ACK = datetime(2026, 10, 31, 22, 30, tzinfo=UTC)


def test_since_is_a_local_date_and_counts_later_acknowledgements_of_older_notices(
    prepared: Path, cli_db_url: str
) -> None:
    asyncio.run(_later_records(cli_db_url))
    result = CliRunner().invoke(app, ["export", "notices", "--since", "2026-11-01"])
    assert result.exit_code == 0, result.output
    h_old, h_new = content_hash(OLD), content_hash(NEW)
    assert result.output.splitlines() == [
        ",".join(COLUMNS),
        f"1,Old process,1,{h_old},Team Alpha,Ayesha Pillay,ayesha@example.com,outstanding,,",
        f"1,Old process,1,{h_old},Team Alpha,Sipho Dlamini,sipho@example.com,2026-10-31T22:30:00Z,,",
        f"2,Chat greeting,1,{h_new},Team Alpha,Ayesha Pillay,ayesha@example.com,outstanding,,",
        f"2,Chat greeting,1,{h_new},Team Alpha,Sipho Dlamini,sipho@example.com,outstanding,,",
        # Thandi is on Team Bravo now: her acknowledgement stays with the team she was on when she gave it.
        f"2,Chat greeting,1,{h_new},Team Alpha,Thandi Nkosi,thandi@example.com,2026-11-02T09:15:30Z,,",
    ]
    later = CliRunner().invoke(app, ["export", "notices", "--since", "2026-11-02"])
    assert [line.split(",")[0] for line in later.output.splitlines()[1:]] == ["2", "2", "2"]
    help_text = " ".join(CliRunner().invoke(app, ["export", "notices", "--help"]).output.replace("│", " ").split())
    assert "published, changed, acknowledged or reminded on or after this date" in help_text
    assert "in the site's time zone" in help_text
