"""Private notes at rest: ciphertext in the column (never the text), key rotation (`rhythm crypto rotate`), a wrong
key, bad settings."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from typer.testing import CliRunner

from bot.cli import app
from bot.clock import FixedClock
from bot.config import ConfigError, Settings, load_settings
from bot.crypto import CannotDecrypt, Cipher, Sealed, cipher_from, generate_key
from bot.deps import Deps, build_deps
from bot.ingest.roster import import_roster
from bot.store.coaching_tables import CoachingSession
from bot.store.migrate import upgrade
from bot.store.org import apply_org, member_by
from bot.store.tables import AuditEvent
from tests.coaching.conftest import KEY
from tests.conftest import NOW
from tests.support.org import AGENT_1, ALPHA_LEAD, ROSTER, org_spec


async def _row(deps: Deps, notes: object) -> CoachingSession:
    async with deps.sessions() as session:
        agent, lead = (
            await member_by(session, slack_user_id=AGENT_1),
            await member_by(session, slack_user_id=ALPHA_LEAD),
        )
        assert agent and lead and agent.team_id
        return CoachingSession(
            member_id=agent.id,
            team_id=agent.team_id,
            lead_id=lead.id,
            kind="one_on_one",
            held_on=date(2026, 11, 18),
            shared_summary="s",
            private_notes=notes,  # type: ignore[arg-type]
        )


async def test_the_column_holds_ciphertext_and_refuses_plaintext(org: Deps) -> None:
    cipher = cipher_from(org.settings)
    assert cipher is not None
    async with org.sessions() as session:
        session.add(await _row(org, cipher.seal("Grieving; be gentle.")))
        await session.commit()
        raw = (await session.execute(text("SELECT private_notes FROM coaching_session"))).scalar_one()
        row = (await session.execute(text("SELECT id FROM coaching_session"))).scalar_one()
        loaded = await session.get(CoachingSession, row)
    assert "Grieving" not in raw and "gentle" not in raw
    assert Fernet(KEY.encode()).decrypt(raw.encode()) == b"Grieving; be gentle."
    assert (
        loaded is not None
        and isinstance(loaded.private_notes, Sealed)
        and cipher.open(loaded.private_notes) == "Grieving; be gentle."
    )
    assert repr(loaded.private_notes) == "Sealed(…)"  # never the token in logs or reprs
    async with org.sessions() as session:
        session.add(await _row(org, "plain text"))
        with pytest.raises(StatementError, match="Sealed ciphertext only"):
            await session.commit()


def test_rotation_a_new_key_in_front_still_opens_old_text() -> None:
    old, new = generate_key(), generate_key()
    sealed = Cipher([old]).seal("note")
    rotated = Cipher([new, old])
    assert rotated.open(sealed) == "note"
    resealed = rotated.rotate(sealed)
    assert Cipher([new]).open(resealed) == "note"
    with pytest.raises(CannotDecrypt):
        Cipher([new]).open(sealed)


def test_the_key_setting_is_validated_and_secret() -> None:
    assert cipher_from(Settings(_env_file=None)) is None
    settings = Settings(_env_file=None, encryption_key=f" {KEY} , {generate_key()}")
    assert KEY not in repr(settings) and cipher_from(settings) is not None
    with pytest.raises(ConfigError, match="RHYTHM_ENCRYPTION_KEY: key 1 is not a Fernet key"):
        load_settings(_env_file=None, encryption_key="not-a-key")
    with pytest.raises(ConfigError, match="RHYTHM_COACHING_RETENTION_MONTHS"):
        load_settings(_env_file=None, coaching_retention_months=-1)


def test_rotate_re_encrypts_every_note_with_the_newest_key_in_batches(
    cli_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Add a new key in front, `rhythm crypto rotate`, then the old key can go: every note opens with the new."""
    old, new, lost = KEY, generate_key(), generate_key()
    settings = Settings(_env_file=None, database_url=cli_db_url, encryption_key=old)

    async def seed() -> list[int]:
        deps = build_deps(settings, clock=FixedClock(NOW))
        try:
            await upgrade(deps.engine)
            async with deps.sessions() as session:
                await apply_org(session, org_spec())
                assert not (await import_roster(session, ROSTER)).errors
                await session.commit()
            rows = [
                await _row(deps, Cipher([old]).seal("first")),
                await _row(deps, Cipher([old]).seal("second")),
                await _row(deps, Cipher([lost]).seal("sealed with a key nobody has")),
                await _row(deps, None),
            ]
            async with deps.sessions() as session:
                session.add_all(rows)
                await session.commit()
            return [r.id for r in rows if r.id is not None]
        finally:
            await deps.engine.dispose()

    ids = asyncio.run(seed())
    monkeypatch.setenv("RHYTHM_DATABASE_URL", cli_db_url)
    monkeypatch.setenv("RHYTHM_ENCRYPTION_KEY", f"{new},{old}")
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["crypto", "rotate", "--batch-size", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 2 private note(s)" in result.output and "0 already were" in result.output
    assert "1 note(s) can't be opened with any configured key" in result.output
    again = CliRunner().invoke(app, ["crypto", "rotate"], catch_exceptions=False)
    assert "Re-encrypted 0 private note(s)" in again.output and "2 already were" in again.output

    async def look() -> tuple[list[Sealed | None], list[dict[str, object]]]:
        deps = build_deps(settings, clock=FixedClock(NOW))
        try:
            async with deps.sessions() as session:
                notes = [(await session.get(CoachingSession, i)) for i in ids]
                events = (
                    (await session.execute(select(AuditEvent).where(AuditEvent.action == "crypto.rotate")))
                    .scalars()
                    .all()
                )  # type: ignore[arg-type]
            return [n.private_notes if n else None for n in notes], [e.details for e in events]
        finally:
            await deps.engine.dispose()

    notes, events = asyncio.run(look())
    only_new = Cipher([new])
    assert [only_new.open(n) for n in notes[:2] if n] == ["first", "second"]  # the old key is no longer needed
    assert notes[3] is None and notes[2] is not None
    with pytest.raises(CannotDecrypt):
        only_new.open(notes[2])  # left as it was, and reported
    assert events == [{"resealed": 2, "current": 0, "unreadable": 1}, {"resealed": 0, "current": 2, "unreadable": 1}]


def test_new_key_prints_a_fernet_key() -> None:
    result = CliRunner().invoke(app, ["crypto", "new-key"], catch_exceptions=False)
    assert result.exit_code == 0 and Cipher([result.output.strip()]).open(Cipher([result.output.strip()]).seal("x"))
