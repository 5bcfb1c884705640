"""/huddle focus, now, skip, leave and report: leads of the team only, clear answers to bad input."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store import huddles
from bot.store.org import team_by_key
from bot.store.tables import AuditEvent, Leave
from tests.huddles.conftest import (
    ALPHA_HUDDLE,
    SAST,
    Answer,
    Send,
    checkin_rows,
    deliver,
    huddle_org,
    huddle_rows,
    outbox_rows,
    reconfigure,
    submission,
    texts,
    tick,
)
from tests.support.org import AGENT_1, AGENT_2, AGENT_3, ALPHA_LEAD, BRAVO_AGENT, BRAVO_LEAD, MANAGER

Cmd = Callable[..., Awaitable[Answer]]


async def _alpha(deps: Deps) -> int:
    async with deps.sessions() as session:
        team = await team_by_key(session, "alpha")
    assert team is not None
    return team.id


async def test_help_and_bad_input(hud: Deps, huddle_cmd: Cmd) -> None:
    assert (await huddle_cmd(ALPHA_LEAD, "")).startswith("*How to use `/huddle`*")
    assert (await huddle_cmd(ALPHA_LEAD, "dance")).startswith("I don't understand `dance`.")
    assert (await huddle_cmd(ALPHA_LEAD, "focus")).startswith("Say what today's focus is")
    assert (await huddle_cmd(ALPHA_LEAD, "focus " + "x" * 301)) == "Keep the focus under 300 characters (it has 301)."
    assert (await huddle_cmd(ALPHA_LEAD, "skip 2026-13-01")).startswith("`2026-13-01` is not a date")
    assert (await huddle_cmd(ALPHA_LEAD, "leave thandi 2026-12-01")).startswith("I couldn't tell who `thandi` is")
    assert (await huddle_cmd(ALPHA_LEAD, f"leave <@{AGENT_1}|t> 2026-12-05 2026-12-01")) == (
        "The leave ends before it starts (2026-12-05 → 2026-12-01)."
    )
    assert (await huddle_cmd(ALPHA_LEAD, "report 2026-11-01 2026-10-01")).startswith("The range ends before")
    assert (await huddle_cmd(ALPHA_LEAD, "report 2026-01-01 2026-11-01")) == "Ask for at most 92 days at a time."
    assert await huddle_rows(hud) == [] and await outbox_rows(hud) == []


@pytest.mark.parametrize(
    ("user", "text", "reply"),
    [
        (AGENT_1, "focus Be kind", "`/huddle focus` is for team leaders and managers."),
        (AGENT_1, "now", "`/huddle now` is for team leaders and managers."),
        (BRAVO_LEAD, "now alpha", "Sorry, *Team Alpha* isn't one of the teams you lead."),
        (MANAGER, "now", "Run this in the team's channel, or name the team (e.g. `/huddle now alpha`)."),
        (ALPHA_LEAD, f"leave <@{BRAVO_AGENT}|bob> 2026-12-01", "Sorry, Bob Brown isn't in a team you lead."),
        (ALPHA_LEAD, "leave <@UNOBODY00|x> 2026-12-01", "<@UNOBODY00> isn't on any Rhythm roster."),
        (ALPHA_LEAD, "now zulu", "I don't know a team called `zulu`."),
    ],
)
async def test_refusals_change_nothing(hud: Deps, huddle_cmd: Cmd, user: str, text: str, reply: str) -> None:
    assert await huddle_cmd(user, text) == reply
    assert await huddle_rows(hud) == [] and await outbox_rows(hud) == []
    async with hud.sessions() as session:
        assert list((await session.execute(select(Leave))).scalars()) == []


async def test_focus_in_the_team_channel_updates_the_open_prompt(hud: Deps, clock: FixedClock, huddle_cmd: Cmd) -> None:
    await tick(hud, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    clock.set(datetime(2026, 11, 18, 9, 3, tzinfo=SAST))
    # The manager oversees two teams: the channel says which.
    answer = await huddle_cmd(MANAGER, "focus Clear the refunds backlog by noon", channel="C0ALPHA01")
    assert answer == "Today's focus for Team Alpha: Clear the refunds backlog by noon (the open prompt now shows it)"
    await huddle_cmd(MANAGER, "focus Clear the refunds backlog by noon", channel="C0ALPHA01")  # same again
    (prompt,) = await huddle_rows(hud)
    updates = [r for r in await outbox_rows(hud) if r.kind == "update"]
    assert len(updates) == 1 and updates[0].update_of == prompt.message_key
    assert "*Today's focus:* Clear the refunds backlog by noon" in texts(updates[0].payload)
    async with hud.sessions() as session:
        day = await huddles.get_day(session, await _alpha(hud), date(2026, 11, 18))
        audits = list((await session.execute(select(AuditEvent.action))).scalars())
    assert day is not None and day.focus == "Clear the refunds backlog by noon"
    assert audits.count("huddle.focus") == 2


async def test_now_posts_an_adhoc_prompt_that_closes_with_a_digest(
    hud: Deps, clock: FixedClock, huddle_cmd: Cmd, interact: Send
) -> None:
    # 14:30 on Wednesday: the morning huddle is long closed.
    answer = await huddle_cmd(ALPHA_LEAD, "now")
    assert answer == "Posted a Team Alpha huddle prompt in <#C0ALPHA01>; check-ins close at 15:00."
    assert await huddle_cmd(ALPHA_LEAD, "now") == "A Team Alpha huddle is already open: check-ins close at 15:00."
    (row,) = await huddle_rows(hud)
    assert (row.seq, row.started_by is not None) == (3, True)
    (prompt,) = await outbox_rows(hud)
    assert texts(prompt.payload).startswith("☀️ Team Alpha huddle (ad hoc) — Wed 18 Nov")
    await interact(submission(AGENT_3, row.id or 0, "4"))
    assert len(await checkin_rows(hud)) == 1
    await tick(hud, clock, datetime(2026, 11, 18, 15, 0, 5, tzinfo=SAST))
    digest = next(r for r in await outbox_rows(hud) if r.kind == "reply")
    assert "*Present (1):* Ayesha Pillay 🙂\n*Absent (2):* Sipho Dlamini, Thandi Nkosi" in texts(digest.payload)


async def test_skip_and_unskip(hud: Deps, clock: FixedClock, huddle_cmd: Cmd) -> None:
    assert (
        await huddle_cmd(ALPHA_LEAD, "skip tomorrow") == "No Team Alpha huddle on Thu 19 Nov: no prompt, no reminders."
    )
    assert await huddle_cmd(ALPHA_LEAD, "skip 2026-11-17") == "Tue 17 Nov has passed; skip today or a later day."
    assert await huddle_cmd(ALPHA_LEAD, "skip alpha 2026-11-21") == (
        "Sat 21 Nov isn't a huddle day for Team Alpha anyway (weekend or holiday); nothing changed."
    )
    assert (
        await huddle_cmd(ALPHA_LEAD, "skip 2026-11-20")
        == "No Team Alpha huddle on Fri 20 Nov: no prompt, no reminders."
    )
    await tick(hud, clock, datetime(2026, 11, 19, 9, 0, 2, tzinfo=SAST))
    assert await huddle_rows(hud) == []
    clock.set(datetime(2026, 11, 19, 12, 0, tzinfo=SAST))
    assert await huddle_cmd(ALPHA_LEAD, "unskip tomorrow") == "The Team Alpha huddle is back on for Fri 20 Nov."
    await tick(hud, clock, datetime(2026, 11, 20, 9, 0, 2, tzinfo=SAST))
    assert [h.day for h in await huddle_rows(hud)] == [date(2026, 11, 20)]


async def test_report_over_a_range(hud: Deps, clock: FixedClock, huddle_cmd: Cmd, interact: Send) -> None:
    clock.set(datetime(2026, 11, 16, 8, 0, tzinfo=SAST))
    await huddle_cmd(ALPHA_LEAD, f"leave <@{AGENT_2}|sipho> 2026-11-18")
    days = {
        16: [(AGENT_1, "4", "Printer jammed", 5), (AGENT_2, "2", None, 6)],
        17: [(AGENT_1, "5", None, 5), (AGENT_3, "3", "No refunds access", 6)],
        18: [(AGENT_1, "3", None, 20), (AGENT_3, "4", None, 6)],
    }
    for day, checkins in days.items():
        await tick(hud, clock, datetime(2026, 11, day, 9, 0, 2, tzinfo=SAST))
        huddle_id = (await huddle_rows(hud))[-1].id or 0
        for user, mood, blocker, minute in checkins:
            clock.set(datetime(2026, 11, day, 9, minute, tzinfo=SAST))
            await interact(submission(user, huddle_id, mood, blocker))
        await tick(hud, clock, datetime(2026, 11, day, 9, 30, 2, tzinfo=SAST))
    clock.set(datetime(2026, 11, 18, 14, 30, tzinfo=SAST))
    answer = await huddle_cmd(MANAGER, "report alpha 2026-11-16 2026-11-18")
    assert answer == "Huddle report Team Alpha, 16 Nov – 18 Nov: attendance 75%, 2 blockers"
    assert texts(answer.payload).split("\n") == [
        "📈 Huddle report — Team Alpha",
        "16 Nov – 18 Nov · 3 huddles",
        "*Attendance:* 75% of expected check-ins · *Blockers raised:* 2",
        "*Mood:* 3.5 average · by day `▁█▅` · +0.8 second half vs first",
        "*Per agent* (attended / expected · late · blockers)",
        "Sipho Dlamini  50%  (1/2 · 0 late · 0)",
        "Ayesha Pillay  67%  (2/3 · 0 late · 1)",
        "Thandi Nkosi  100%  (3/3 · 1 late · 1)",
    ]
    assert (await huddle_cmd(ALPHA_LEAD, "report 7d")).startswith(
        "Huddle report Team Alpha, last 7 days (12 Nov – 18 Nov): attendance 75%"
    )
    assert await huddle_cmd(AGENT_1, "report") == "`/huddle report` is for team leaders and managers."


async def test_focus_changed_back_and_forth_ends_showing_the_last(
    hud: Deps, clock: FixedClock, huddle_cmd: Cmd, fake_slack: FakeSlack
) -> None:
    await tick(hud, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    await deliver(hud, fake_slack, clock)
    for focus in ("Refunds", "Backlog", "Refunds"):  # each edit reaches Slack before the next change
        answer = await huddle_cmd(ALPHA_LEAD, f"focus {focus}", channel="C0ALPHA01")
        assert answer == f"Today's focus for Team Alpha: {focus} (the open prompt now shows it)"
        await deliver(hud, fake_slack, clock)
    (prompt,) = fake_slack.posted("C0ALPHA01")
    shown = [texts(edit).split("\n")[1] for edit in prompt.edits]
    assert shown == ["*Today's focus:* Refunds", "*Today's focus:* Backlog", "*Today's focus:* Refunds"]
    for focus in ("Queues", "Refunds", "Backlog"):  # a burst before the worker runs: one edit, the last
        await huddle_cmd(ALPHA_LEAD, f"focus {focus}", channel="C0ALPHA01")
    await deliver(hud, fake_slack, clock)
    (prompt,) = fake_slack.posted("C0ALPHA01")
    assert len(prompt.edits) == 4 and texts(prompt.edits[-1]).split("\n")[1] == "*Today's focus:* Backlog"
    (row,) = await huddle_rows(hud)
    assert row.prompt_updates == 4


async def test_focus_can_name_the_team(hud: Deps, clock: FixedClock, huddle_cmd: Cmd) -> None:
    clock.set(datetime(2026, 11, 18, 8, 0, tzinfo=SAST))
    # The manager leads both teams; in a DM (no team channel) the first word names the team…
    answer = await huddle_cmd(MANAGER, "focus bravo Refunds before noon", channel="D0MANAGER")
    assert answer == "Today's focus for Team Bravo: Refunds before noon"
    # …unless no team has that key: then it is part of the focus.
    answer = await huddle_cmd(ALPHA_LEAD, "focus refunds before noon", channel="C0ALPHA01")
    assert answer == "Today's focus for Team Alpha: refunds before noon"
    assert await huddle_cmd(ALPHA_LEAD, "focus bravo Be kind") == "Sorry, *Team Bravo* isn't one of the teams you lead."
    async with hud.sessions() as session:
        bravo = await team_by_key(session, "bravo")
        assert bravo is not None
        plan = await huddles.get_day(session, bravo.id or 0, date(2026, 11, 18))
        alpha_plan = await huddles.get_day(session, await _alpha(hud), date(2026, 11, 18))
    assert plan is not None and plan.focus == "Refunds before noon"
    assert alpha_plan is not None and alpha_plan.focus == "refunds before noon"


async def test_report_of_an_anonymous_team_hides_thin_mood_figures(
    hud: Deps, clock: FixedClock, huddle_cmd: Cmd, interact: Send
) -> None:
    await reconfigure(hud, huddle_org({**ALPHA_HUDDLE, "anonymous_mood": True}))
    days = {16: [(AGENT_1, "1"), (AGENT_2, "5")], 17: [(AGENT_1, "4"), (AGENT_2, "4"), (AGENT_3, "5")]}
    for day, checkins in days.items():
        await tick(hud, clock, datetime(2026, 11, day, 9, 0, 2, tzinfo=SAST))
        huddle_id = (await huddle_rows(hud))[-1].id or 0
        clock.set(datetime(2026, 11, day, 9, 5, tzinfo=SAST))
        for user, mood in checkins:
            await interact(submission(user, huddle_id, mood))
        await tick(hud, clock, datetime(2026, 11, day, 9, 30, 2, tzinfo=SAST))
    clock.set(datetime(2026, 11, 18, 14, 30, tzinfo=SAST))
    lines = texts((await huddle_cmd(ALPHA_LEAD, "report 2026-11-16 2026-11-17")).payload).split("\n")
    # Monday had two answers: its mood (and the first-half/second-half comparison) would name them.
    assert lines[3] == "*Mood:* 3.8 average · by day `·▅` (days with fewer than 3 answers left blank)"
    lines = texts((await huddle_cmd(ALPHA_LEAD, "report 2026-11-16 2026-11-16")).payload).split("\n")
    assert lines[3] == "*Mood:* hidden — fewer than 3 answers (this team's mood is anonymous)"
