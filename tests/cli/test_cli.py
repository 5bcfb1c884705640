"""The rhythm command line, as an operator runs it: org apply, imports, config errors, the demo."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.sandbox import demo_data, demo_morning
from bot.sandbox.fake_slack import FakeSlack
from bot.store.coaching_tables import CoachingSession
from bot.store.db import make_engine
from bot.store.huddle_tables import CheckIn
from bot.store.notice_tables import NoticeAck
from bot.store.tables import KpiSample, Member

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def run(cli_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RHYTHM_DATABASE_URL", cli_db_url)
    monkeypatch.setenv("COLUMNS", "200")  # keep rich from wrapping the lines the tests read
    monkeypatch.chdir(tmp_path)  # no stray .env or database in the repo

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    return invoke


def _count(url: str, table: type) -> int:
    async def count() -> int:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_org_apply_then_again_changes_nothing(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("org", "apply", str(EXAMPLES / "org.yml"))
    assert code == 0, out
    assert "+ team alpha" in out and "Applied" in out
    code, out = run("org", "apply", str(EXAMPLES / "org.yml"))
    assert code == 0 and "No changes" in out


def test_org_apply_dry_run_changes_nothing(run, cli_db_url: str) -> None:  # type: ignore[no-untyped-def]
    code, out = run("org", "apply", "--dry-run", str(EXAMPLES / "org.yml"))
    assert code == 0 and "Would apply" in out
    assert _count(cli_db_url, Member) == 0


def test_invalid_org_file_is_explained(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "org.yml"
    bad.write_text("teams:\n  - {key: alpha, name: A, timezone: Mars/Base}\n")
    code, out = run("org", "apply", str(bad))
    assert code == 1 and "unknown time zone 'Mars/Base'" in out


def test_roster_and_kpis_import(run, cli_db_url: str) -> None:  # type: ignore[no-untyped-def]
    assert run("org", "apply", str(EXAMPLES / "org.yml"))[0] == 0
    code, out = run("import", "roster", str(EXAMPLES / "roster.csv"))
    assert code == 0 and "3 created" in out
    assert "0 created, 0 updated, 3 unchanged" in run("import", "roster", str(EXAMPLES / "roster.csv"))[1]
    code, out = run("import", "kpis", str(EXAMPLES / "kpis.csv"))
    assert code == 0 and "Imported 5 KPI sample(s)" in out
    assert run("import", "kpis", str(EXAMPLES / "kpis.csv"))[0] == 0  # idempotent upsert
    assert _count(cli_db_url, KpiSample) == 5


def test_bad_kpi_file_changes_nothing_and_lists_every_bad_row(run, cli_db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("org", "apply", str(EXAMPLES / "org.yml"))
    run("import", "roster", str(EXAMPLES / "roster.csv"))
    bad = tmp_path / "kpis.csv"
    bad.write_text(
        "metric,subject,date,numerator,denominator\n"
        "csat,thandi.nkosi@example.com,2026-11-20,18,20\n"  # fine, but must not be written
        "csatt,thandi.nkosi@example.com,2026-11-20,18,20\n"
        "csat,nobody@example.com,2026-11-20,18,20\n"
        "csat,thandi.nkosi@example.com,20/11/2026,18,20\n"
        "csat,thandi.nkosi@example.com,2026-11-21,18,0\n"
        "csat,thandi.nkosi@example.com,2026-11-22,lots,20\n"
        "csat,thandi.nkosi@example.com,2026-11-20,1,2\n"
    )
    code, out = run("import", "kpis", str(bad))
    assert code == 1
    assert "6 bad row(s); nothing was imported" in out
    for expected in (
        "kpis.csv:line 3: unknown metric 'csatt'",
        "kpis.csv:line 4: unknown subject 'nobody@example.com'",
        "kpis.csv:line 5: date '20/11/2026' is not YYYY-MM-DD",
        "kpis.csv:line 6: csat is a rate: denominator must be a positive number",
        "kpis.csv:line 7: numerator 'lots' is not a number",
        "kpis.csv:line 8: repeats line 2",
    ):
        assert expected in out
    assert _count(cli_db_url, KpiSample) == 0


def test_kpis_as_json_lines(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("org", "apply", str(EXAMPLES / "org.yml"))
    run("import", "roster", str(EXAMPLES / "roster.csv"))
    lines = tmp_path / "kpis.jsonl"
    lines.write_text(
        json.dumps({"metric": "csat", "subject": "ZD-1001", "date": "2026-11-20", "numerator": 9, "denominator": 10})
        + "\nnot json\n"
    )
    code, out = run("import", "kpis", str(lines))
    assert code == 1 and "line 2: not valid JSON" in out
    lines.write_text(lines.read_text().splitlines()[0] + "\n")
    assert run("import", "kpis", str(lines))[0] == 0


def test_missing_columns_are_named(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "roster.csv"
    bad.write_text("email,name\nx@example.com,X\n")
    code, out = run("import", "roster", str(bad))
    assert code == 1 and "missing column(s): team" in out


def test_malformed_setting_is_named(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RHYTHM_DEFAULT_TIMEZONE", "Mars/Base")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-user-token")
    code, out = run("migrate")
    assert code == 2
    assert "RHYTHM_DEFAULT_TIMEZONE: unknown time zone 'Mars/Base'" in out
    assert "SLACK_BOT_TOKEN: must be a bot token starting with 'xoxb-'" in out


def test_run_without_slack_credentials_names_them(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, out = run("run")
    assert code == 2 and "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET" in out


def test_demo_runs_the_real_app_path_and_writes_block_kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    slacks: list[FakeSlack] = []

    def recorder() -> FakeSlack:  # the demo's fake Slack, kept so the test can see what was delivered
        slacks.append(FakeSlack())
        return slacks[-1]

    monkeypatch.setattr("bot.sandbox.demo.FakeSlack", recorder)
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(app, ["demo", "--database-url", url, "--out", "out"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Team Alpha — Chat" in result.output
    assert "you can only see your own team's scorecard" in result.output
    assert "auth.test" in result.output  # the Bolt app's Web API call reached the local recorder
    assert "📈 Campaign report" in result.output  # posted on schedule through the outbox and the worker
    assert "chat.postMessage" in result.output and "files.completeUploadExternal" in result.output
    assert (tmp_path / "out" / "campaign-chart.png").read_bytes().startswith(b"\x89PNG")
    files = sorted((tmp_path / "out").glob("*.json"))
    # 10 answers to /kpi, the snapshot and the campaign report; then the morning after: 13 (numbered 14-22)
    assert len(files) == 25
    first = json.loads(files[0].read_text())
    assert first["blocks"][0]["type"] == "header"
    for step in range(14, 23):
        assert f"{step}. " in result.output and list((tmp_path / "out").glob(f"{step:02d}-*.json"))
    _assert_morning_after(slacks[0], tmp_path / "demo.db")


def _assert_morning_after(slack: FakeSlack, db: Path) -> None:
    """The morning after's huddle, notice and 1:1, as delivered to Slack and stored."""
    alpha, struggling = demo_data.TEAMS[0], demo_data.agent_id(demo_data.TEAMS[0], demo_morning.STRUGGLING)
    assert len(slack.calls_to("views.open")) == 6  # the modals the demo filled: 4 check-ins, a notice, a 1:1
    (prompt,) = [p for p in slack.posted(alpha.channel) if p.text.startswith(f"{alpha.name} huddle")]
    assert prompt.edits[0]["blocks"][1]["text"]["text"] == f"*Today's focus:* {demo_morning.FOCUS}"
    assert prompt.text.endswith("closed, 4 checked in")  # edited in place again at the close
    (digest,) = [p for p in slack.posted(alpha.channel) if p.body.get("thread_ts") == prompt.ts]
    assert "Present (4)" in json.dumps(digest.body, ensure_ascii=False)
    (ops,) = [
        p
        for p in slack.posted("C0MANAGERS")
        if f"Huddle digest — {alpha.name}" in json.dumps(p.body, ensure_ascii=False)
    ]
    # the agents' notes are for the team's thread, not the managers' copy
    assert "Happy to buddy" in json.dumps(digest.body) and "Happy to buddy" not in json.dumps(ops.body)
    (notice,) = [p for p in slack.posted(alpha.channel) if p.text.startswith("Process change")]
    assert len(notice.edits) == 1  # three acknowledgements, one coalesced chat.update
    assert notice.body["blocks"][-1]["elements"][0]["text"] == f"*3/{alpha.agents} acknowledged*"
    reminder, coaching = slack.posted(FakeSlack.dm_channel(struggling))  # skipped the huddle, then a 1:1
    assert "haven't checked in" in reminder.text
    shown = json.dumps(coaching.body, ensure_ascii=False)
    assert coaching.text.startswith("Your 1:1 with") and "Shadow" in shown and "Acknowledge" in shown
    assert demo_morning.PRIVATE_NOTE not in shown
    stored = b"".join(p.read_bytes() for p in db.parent.glob(f"{db.name}*"))  # the database, its WAL
    assert b"the refund steps are slowing you down" in stored  # the shared summary, in plain text
    assert demo_morning.PRIVATE_NOTE.encode() not in stored  # the private note only encrypted
    url = f"sqlite+aiosqlite:///{db}"
    assert _count(url, CheckIn) == 4 and _count(url, NoticeAck) == 3 and _count(url, CoachingSession) == 1


def test_roster_without_role_keeps_a_leads_role(run, cli_db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("org", "apply", str(EXAMPLES / "org.yml"))
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "email,name,team\nlindiwe.lead@example.com,Lindiwe Mokoena,alpha\nnew.agent@example.com,New,alpha\n"
    )
    assert run("import", "roster", str(roster))[0] == 0

    async def roles() -> dict[str, str]:
        engine = make_engine(cli_db_url)
        try:
            async with engine.connect() as conn:
                return dict((await conn.execute(select(Member.email, Member.role))).all())  # type: ignore[call-overload]
        finally:
            await engine.dispose()

    found = asyncio.run(roles())
    assert found["lindiwe.lead@example.com"] == "lead" and found["new.agent@example.com"] == "agent"


def test_schedule_import_and_pull_without_zendesk_settings(run) -> None:  # type: ignore[no-untyped-def]
    run("org", "apply", str(EXAMPLES / "org.yml"))
    run("import", "roster", str(EXAMPLES / "roster.csv"))
    code, out = run("import", "schedule", str(EXAMPLES / "schedule.csv"))
    assert code == 0 and "Imported 7 schedule segment(s)" in out
    code, out = run("pull", "zendesk")
    assert code == 2 and "RHYTHM_ZENDESK_SUBDOMAIN is not set" in out


def test_schedule_import_recomputes_the_adherence_kpis_of_the_days_it_covers(  # type: ignore[no-untyped-def]
    run, cli_db_url: str
) -> None:
    """Friday 20 November has begun (the real clock), so its adherence figures are rebuilt from the new schedule:
    Thandi has no state events, so she was in adherence for none of her scheduled minutes."""
    run("org", "apply", str(EXAMPLES / "org.yml"))
    run("import", "roster", str(EXAMPLES / "roster.csv"))
    code, out = run("import", "schedule", str(EXAMPLES / "schedule.csv"))
    assert code == 0 and "Adherence KPIs recomputed: 1 agent-day(s), 2 figure(s)" in out, out
    assert _count(cli_db_url, KpiSample) == 2
    code, out = run("adherence", "recompute", "--from", "2026-11-19", "--to", "2026-11-21", "--team", "alpha")
    assert code == 0 and "1 agent-day(s) with a schedule, 2 figure(s)" in out, out
    assert _count(cli_db_url, KpiSample) == 2  # rebuilt in place


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--from", "20 Nov"], 2, "is not a date"),
        (["--from", "2026-11-20", "--to", "2026-11-19"], 2, "--to is before --from"),
        (["--from", "2026-01-01", "--to", "2026-12-31"], 2, "at most 92 days"),
        (["--from", "2026-11-20", "--team", "nope"], 1, "No team with the key 'nope'"),
    ],
    ids=["not-a-date", "backwards", "too-long", "unknown-team"],
)
def test_adherence_recompute_refuses_bad_input_clearly(  # type: ignore[no-untyped-def]
    run, cli_db_url: str, args: list[str], code: int, message: str
) -> None:
    run("org", "apply", str(EXAMPLES / "org.yml"))
    got, out = run("adherence", "recompute", *args)
    assert got == code and message in " ".join(out.split()), out
    assert _count(cli_db_url, KpiSample) == 0


def test_a_failed_recompute_after_a_schedule_import_says_how_to_finish(  # type: ignore[no-untyped-def]
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.cli as cli

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    run("org", "apply", str(EXAMPLES / "org.yml"))
    run("import", "roster", str(EXAMPLES / "roster.csv"))
    monkeypatch.setattr(cli, "compute_adherence_kpis", broken)
    code, out = run("import", "schedule", str(EXAMPLES / "schedule.csv"))
    assert code == 1 and "Imported 7 schedule segment(s)" in out
    assert "failed (disk full)" in out and "rhythm adherence recompute --from 2026-11-20 --to 2026-11-20" in out
