"""Subject access export and erasure, as an operator runs them (``rhythm export agent`` / ``rhythm erase agent``):
every table that holds the person, foreign keys honoured, other people untouched, audit without personal data."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel
from typer.testing import CliRunner

from bot.blocks.coaching import read_session_form
from bot.blocks.coaching_pip import read_plan_form
from bot.cli import app
from bot.clock import FixedClock
from bot.config import Settings
from bot.deps import Deps, build_deps
from bot.ingest.roster import import_roster
from bot.services.coaching import save_session
from bot.services.coaching_reports import due
from bot.services.pip import save_plan
from bot.store import audit, outbox
from bot.store.coaching_tables import CoachingSession
from bot.store.leave import add_leave
from bot.store.migrate import upgrade
from bot.store.org import apply_org, member_by
from bot.store.privacy import WITHHELD
from bot.store.tables import AgentStateEvent, AuditEvent, Breach, KpiSample, Member, ScheduleSegment
from tests.coaching.conftest import KEY, plan_submit, session_values
from tests.conftest import NOW
from tests.support.kpis import add_samples, sample
from tests.support.org import AGENT_1, AGENT_2, ALPHA_LEAD, ROSTER, org_spec

NOTE = "Mentioned a family illness."
PERSONAL = ("Thandi", "thandi@example.com", AGENT_1, "ZD-1")


async def seed(deps: Deps) -> dict[str, int]:
    """The org, and data about Thandi in every table that holds a person (plus some of Sipho's)."""
    async with deps.sessions() as session:
        await apply_org(session, org_spec())
        assert not (await import_roster(session, ROSTER)).errors
        await session.commit()
        thandi, sipho, lead = [await member_by(session, slack_user_id=u) for u in (AGENT_1, AGENT_2, ALPHA_LEAD)]
    assert thandi and sipho and lead
    await add_samples(
        deps,
        sample("csat", "thandi@example.com", "2026-11-17", 8, 10),
        sample("csat", "sipho@example.com", "2026-11-17", 9, 10),
    )
    for member in (thandi, sipho):
        meta = json.dumps({"member_id": member.id})
        form = read_session_form(meta, session_values(notes=NOTE, actions="Read the macro | 2026-11-18"))
        assert (await save_session(deps, user_id=ALPHA_LEAD, form=form)).view is not None
    values = plan_submit(ALPHA_LEAD, thandi.id, goals="CSAT | ≥ 85%", reviews="2026-11-25", end=date(2026, 12, 16))
    form = read_plan_form(json.dumps({"member_id": thandi.id, "plan_id": None}), values["view"]["state"]["values"])
    assert (await save_plan(deps, user_id=ALPHA_LEAD, form=form)).view is not None
    await due(deps, user_id=ALPHA_LEAD)  # the lead reads what's due: audited per agent shown
    async with deps.sessions() as session:
        (thandi_session,) = (
            await session.execute(select(CoachingSession.id).where(CoachingSession.member_id == thandi.id))  # type: ignore[call-overload]
        ).scalars()
        await outbox.enqueue(  # the follow-up DM about Thandi's session, to her lead
            session,
            key=f"coaching:follow-up:{thandi_session}:{lead.id}",
            channel=ALPHA_LEAD,
            kind="dm",
            payload={"text": "Follow-up due: Thandi Nkosi"},
        )
        at = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
        session.add(ScheduleSegment(member_id=thandi.id, start=at, end=at.replace(hour=16), activity="open"))
        session.add(AgentStateEvent(member_id=thandi.id, at=at, state="available"))
        session.add(
            Breach(
                member_id=thandi.id,
                team_id=thandi.team_id or 0,
                kind="late_login",
                started_at=at,
                message_key="breach:t",
                acted_by=lead.id,
            )
        )
        await outbox.enqueue(session, key="breach:t", channel="C0ALPHA01", payload={"text": "Thandi Nkosi: late"})
        await add_leave(session, thandi.id, date(2026, 12, 1), date(2026, 12, 2), created_by=lead.id)
        audit.record(session, actor=f"slack:{AGENT_1}", action="kpi.read", subject="team:1")
        await session.commit()
    return {"thandi": thandi.id, "sipho": sipho.id, "lead": lead.id}


@pytest.fixture
def cli_env(cli_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Deps, dict[str, int]]:
    """A database at the migrations' head revision holding the seeded data, and the CLI pointed at it."""
    monkeypatch.setenv("RHYTHM_DATABASE_URL", cli_db_url)
    monkeypatch.setenv("RHYTHM_ENCRYPTION_KEY", KEY)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None, database_url=cli_db_url, encryption_key=KEY)

    async def prepare() -> dict[str, int]:
        deps = build_deps(settings, clock=FixedClock(NOW))
        try:
            await upgrade(deps.engine)  # what `rhythm` does first: its `migrate` step is then a no-op
            return await seed(deps)
        finally:
            await deps.engine.dispose()

    ids = asyncio.run(prepare())
    return build_deps(settings, clock=FixedClock(NOW)), ids


def cli(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.output


def query(deps: Deps, work: Callable[[Any], Any]) -> Any:
    async def run() -> Any:
        try:
            async with deps.sessions() as session:
                return await work(session)
        finally:
            await deps.engine.dispose()

    return asyncio.run(run())


async def counts_for(session: Any, member_id: int) -> dict[str, int]:
    out = {}
    for name in (
        "kpi_sample",
        "coaching_session",
        "coaching_action_item",
        "improvement_plan",
        "schedule_segment",
        "agent_state_event",
        "breach",
        "leave",
    ):
        table = SQLModel.metadata.tables[name]
        out[name] = (
            await session.execute(select(func.count()).select_from(table).where(table.c.member_id == member_id))
        ).scalar_one()
    return out


def test_export_writes_everything_held_about_the_agent_owner_only(
    cli_env: tuple[Deps, dict[str, int]], tmp_path: Path
) -> None:
    deps, ids = cli_env
    code, out = cli("export", "agent", "Thandi@Example.com")
    assert code == 0, out
    path = tmp_path / f"export-member-{ids['thandi']}.json"
    assert f"Wrote {path.name}" in out and NOTE not in out
    assert "1 session(s) of private notes written by leaders" in out and "--redact-private-notes" in out
    assert os.stat(path).st_mode & 0o777 == 0o600
    data = json.loads(path.read_text())["sections"]
    assert data["member"][0]["email"] == "thandi@example.com"
    for name in (
        "kpi_sample",
        "coaching_session",
        "coaching_action_item",
        "improvement_plan",
        "improvement_plan_version",
        "schedule_segment",
        "agent_state_event",
        "breach",
        "leave",
        "audit_event",
        "outbox",
    ):
        assert data[name], f"{name} missing from the export"
    assert {"huddle_checkin", "notice_ack", "notice_reminder"} <= set(data)
    assert {r["member_id"] for r in data["coaching_session"]} == {ids["thandi"]}  # not Sipho's
    assert data["coaching_session"][0]["private_notes"] == NOTE  # the person's data, opened for the SAR
    session_id = data["coaching_session"][0]["id"]
    assert {r["idempotency_key"] for r in data["outbox"]} >= {
        "breach:t",
        f"coaching:session:{session_id}:dm",
        f"coaching:follow-up:{session_id}:{ids['lead']}",  # about her session, though sent to her lead
    }
    actions = {r["action"] for r in data["audit_event"]}
    assert actions >= {"coaching.session.create", "pip.open", "kpi.read", "coaching.due.read"}
    events = query(deps, lambda s: _events(s, "privacy.export"))
    assert [(e.actor, e.subject) for e in events] == [("cli", f"member:{ids['thandi']}")]
    assert not any(p in json.dumps(events[0].details) for p in PERSONAL)


async def _events(session: Any, action: str) -> list[AuditEvent]:
    return list((await session.execute(select(AuditEvent).where(AuditEvent.action == action))).scalars())  # type: ignore[arg-type]


def test_private_notes_can_be_withheld_from_the_export(cli_env: tuple[Deps, dict[str, int]], tmp_path: Path) -> None:
    deps, ids = cli_env
    code, out = cli("export", "agent", "thandi@example.com", "--redact-private-notes")
    assert code == 0, out
    text = (tmp_path / f"export-member-{ids['thandi']}.json").read_text()
    assert NOTE not in text and json.loads(text)["sections"]["coaching_session"][0]["private_notes"] == WITHHELD
    assert "private notes written by leaders" not in out
    (event,) = query(deps, lambda s: _events(s, "privacy.export"))
    assert event.details["notes_withheld"] is True and event.details["private_notes"] == 0


def test_a_leads_export_holds_their_records_not_their_agents(
    cli_env: tuple[Deps, dict[str, int]], tmp_path: Path
) -> None:
    _, ids = cli_env
    code, out = cli("export", "agent", "lead.alpha@example.com")
    assert code == 0, out
    data = json.loads((tmp_path / f"export-member-{ids['lead']}.json").read_text())["sections"]
    assert data["outbox"] == []  # the follow-up DM they received is Thandi's data, not theirs
    assert data["coaching_session"] == [] and NOTE not in json.dumps(data)
    assert any(r["action"] == "coaching.session.create" for r in data["audit_event"])  # what they did: ids only


def test_export_as_csv_to_a_chosen_file(cli_env: tuple[Deps, dict[str, int]], tmp_path: Path) -> None:
    code, out = cli("export", "agent", "thandi@example.com", "--format", "csv", "--out", str(tmp_path / "sar.csv"))
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO((tmp_path / "sar.csv").read_text())))
    assert {"section", "row", "field", "value"} == set(rows[0])
    assert {"section": "coaching_session", "row": "1", "field": "private_notes", "value": NOTE} in rows


@pytest.mark.parametrize(
    ("by", "allowed"),
    [
        ("lead.alpha@example.com", True),
        ("ops@example.com", True),
        ("admin@example.com", True),
        ("lead.bravo@example.com", False),
        ("thandi@example.com", False),
        ("sipho@example.com", False),
        ("stranger@example.com", False),
    ],
)
def test_export_on_behalf_of_someone_follows_the_coaching_rule(
    cli_env: tuple[Deps, dict[str, int]], tmp_path: Path, by: str, allowed: bool
) -> None:
    deps, ids = cli_env
    code, out = cli("export", "agent", "thandi@example.com", "--by", by)
    written = (tmp_path / f"export-member-{ids['thandi']}.json").exists()
    events = query(deps, lambda s: _events(s, "privacy.export"))
    assert (code == 0, written, len(events)) == ((True, True, 1) if allowed else (False, False, 0)), out
    if not allowed:
        assert "Nothing was exported or changed" in out


def test_unknown_email_changes_nothing(cli_env: tuple[Deps, dict[str, int]]) -> None:
    code, out = cli("export", "agent", "nobody@example.com")
    assert code == 1 and "No one with the email nobody@example.com" in out
    code, out = cli("erase", "agent", "nobody@example.com", "--yes")
    assert code == 1


def test_erase_asks_first_and_no_means_no(cli_env: tuple[Deps, dict[str, int]]) -> None:
    deps, ids = cli_env
    code, out = cli("erase", "agent", "thandi@example.com", input="n\n")
    assert code == 1 and "coaching_session: 1 row(s)" in out and "Nothing was erased" in out
    assert query(deps, lambda s: counts_for(s, ids["thandi"]))["coaching_session"] == 1


def test_erase_removes_the_agent_everywhere_and_keeps_an_anonymous_tombstone(
    cli_env: tuple[Deps, dict[str, int]],
) -> None:
    deps, ids = cli_env
    sipho_before = query(deps, lambda s: counts_for(s, ids["sipho"]))
    code, out = cli("erase", "agent", "thandi@example.com", "--yes")
    assert code == 0, out
    assert f"Erased member {ids['thandi']}:" in out

    async def look(session: Any) -> dict[str, Any]:
        member = await session.get(Member, ids["thandi"])
        remaining = await counts_for(session, ids["thandi"])
        events = list((await session.execute(select(AuditEvent))).scalars())
        keys = list((await session.execute(select(SQLModel.metadata.tables["outbox"].c.idempotency_key))).scalars())
        return {
            "member": member,
            "remaining": remaining,
            "events": events,
            "keys": keys,
            "sipho": await counts_for(session, ids["sipho"]),
        }

    seen = query(deps, look)
    member = seen["member"]
    assert (member.name, member.email, member.slack_user_id, member.external_id, member.active, member.team_id) == (
        f"Erased member {ids['thandi']}",
        f"erased-{ids['thandi']}@erased.invalid",
        None,
        None,
        False,
        None,
    )
    assert set(seen["remaining"].values()) == {0}
    assert seen["sipho"] == sipho_before  # nobody else's data went
    assert "breach:t" not in seen["keys"] and not any(k == AGENT_1 for k in seen["keys"])
    text = json.dumps([[e.actor, e.action, e.subject, e.details] for e in seen["events"]])
    assert not any(p in text for p in PERSONAL)  # no audit row names her any more
    (erased,) = [e for e in seen["events"] if e.action == "privacy.erase"]
    assert erased.subject == f"member:{ids['thandi']}" and erased.details["coaching_session"] == 1
    assert erased.details["kpi_sample"] == 1 and erased.details["member"] == 1


def test_erasing_a_lead_keeps_their_agents_records(cli_env: tuple[Deps, dict[str, int]]) -> None:
    deps, ids = cli_env
    code, out = cli("erase", "agent", "lead.alpha@example.com", "--yes")
    assert code == 0, out

    async def look(session: Any) -> tuple[int, list[str], int]:
        sessions = (await counts_for(session, ids["thandi"]))["coaching_session"]
        actors = list((await session.execute(select(AuditEvent.actor))).scalars())  # type: ignore[call-overload]
        breaches = (
            await session.execute(select(func.count()).select_from(Breach).where(Breach.acted_by == ids["lead"]))
        ).scalar_one()  # type: ignore[arg-type]
        return sessions, actors, breaches

    sessions, actors, breaches = query(deps, look)
    assert sessions == 1 and breaches == 1  # her agents' records stay, pointing at the tombstone
    assert f"slack:{ALPHA_LEAD}" not in actors and f"erased-member:{ids['lead']}" in actors


def test_every_member_table_has_a_section() -> None:
    """A new table with a member_id column must join the export and erasure (bot.store.privacy.SECTIONS)."""
    from bot.store.privacy import SECTIONS

    with_member = {
        name for name, table in SQLModel.metadata.tables.items() if "member_id" in table.c and name != "team_oversight"
    }
    assert with_member <= {s.name for s in SECTIONS}, with_member - {s.name for s in SECTIONS}


def test_kpi_samples_are_gone_but_team_sums_stay(cli_env: tuple[Deps, dict[str, int]]) -> None:
    deps, _ = cli_env
    before = query(deps, lambda s: _kpi_day_total(s))
    assert cli("erase", "agent", "thandi@example.com", "--yes")[0] == 0
    assert query(deps, lambda s: _kpi_day_total(s)) == before
    assert query(deps, lambda s: _samples(s)) == 1  # Sipho's


async def _kpi_day_total(session: Any) -> float:
    table = SQLModel.metadata.tables["kpi_day"]
    return float((await session.execute(select(func.sum(table.c.numerator)))).scalar_one())


async def _samples(session: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(KpiSample))).scalar_one())
