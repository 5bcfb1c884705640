"""The end of a huddle: one reminder to the expected agents who have not checked in, then the digest in the
prompt's thread and for the ops manager, exactly once; leave and schedules decide who is expected."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime

import pytest

from bot.clock import FixedClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.services.huddle_tick import run_huddle_tick
from bot.store import huddles
from bot.store.org import member_by, team_by_key
from bot.store.tables import ScheduleSegment
from tests.conftest import SlashCommand
from tests.huddles.conftest import (
    ALPHA_HUDDLE,
    SAST,
    Send,
    deliver,
    huddle_org,
    huddle_rows,
    outbox_row,
    outbox_rows,
    reconfigure,
    submission,
    texts,
    tick,
)
from tests.support.org import AGENT_1, AGENT_2, AGENT_3, ALPHA_LEAD

MANAGERS = "C0MANAGERS"


@pytest.fixture
def ops(hud: Deps) -> Deps:
    """The same app with an ops manager channel configured."""
    return dataclasses.replace(hud, settings=hud.settings.model_copy(update={"managers_channel": MANAGERS}))


async def _member(deps: Deps, slack_id: str) -> int:
    async with deps.sessions() as session:
        member = await member_by(session, slack_user_id=slack_id)
    assert member is not None
    return member.id


async def _prompt(deps: Deps, clock: FixedClock) -> tuple[int, str]:
    await tick(deps, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    (row,) = await huddle_rows(deps)
    assert row.id is not None
    return row.id, row.message_key


async def _check_in(interact: Send, clock: FixedClock, minute: int, *args: str | None) -> None:
    clock.set(datetime(2026, 11, 18, 9, minute, tzinfo=SAST))
    resp = await interact(submission(*args))  # type: ignore[arg-type]
    assert resp.status_code == 200 and resp.text in ("", "null")


async def test_reminder_goes_once_and_only_to_those_missing(hud: Deps, clock: FixedClock, interact: Send) -> None:
    huddle_id, key = await _prompt(hud, clock)
    await _check_in(interact, clock, 5, AGENT_1, huddle_id, "4")
    assert (await tick(hud, clock, datetime(2026, 11, 18, 9, 19, 59, tzinfo=SAST))).reminders == 0
    assert (await tick(hud, clock, datetime(2026, 11, 18, 9, 20, 2, tzinfo=SAST))).reminders == 2
    assert (await tick(hud, clock, datetime(2026, 11, 18, 9, 21, 2, tzinfo=SAST))).reminders == 0
    dms = [r for r in await outbox_rows(hud) if r.kind == "dm"]
    assert sorted(r.channel for r in dms) == [AGENT_2, AGENT_3]
    assert {r.idempotency_key for r in dms} == {
        f"{key}:remind:{await _member(hud, AGENT_2)}",
        f"{key}:remind:{await _member(hud, AGENT_3)}",
    }
    assert dms[0].payload["text"] == "⏰ The Team Alpha huddle closes at 09:30 and you haven't checked in yet."
    assert dms[0].payload["blocks"][1]["elements"][0]["value"] == str(huddle_id)  # the DM has its own button


async def test_digest_content_is_exact_and_posted_once_in_thread_and_for_ops(
    ops: Deps, clock: FixedClock, interact: Send
) -> None:
    alpha = await _team(ops)
    async with ops.sessions() as session:
        await huddles.save_day(session, alpha, date(2026, 11, 18), now=clock.now(), focus="First replies under an hour")
        await session.commit()
    huddle_id, key = await _prompt(ops, clock)
    await _check_in(interact, clock, 5, AGENT_1, huddle_id, "4", "Zendesk is slow")
    await _check_in(interact, clock, 16, AGENT_2, huddle_id, "2", "Waiting on refunds access", "Training at 11")
    assert (await tick(ops, clock, datetime(2026, 11, 18, 9, 29, 59, tzinfo=SAST))).closed == []
    clock.set(datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))
    other = dataclasses.replace(ops, clock=FixedClock(clock.now()))  # a second replica ticking at once
    results = await asyncio.gather(run_huddle_tick(ops), run_huddle_tick(other))
    assert sorted(len(r.closed) for r in results) == [0, 1]
    assert (await tick(ops, clock, datetime(2026, 11, 18, 9, 31, 2, tzinfo=SAST))).closed == []

    thread = await outbox_row(ops, f"{key}:digest")
    assert (thread.kind, thread.update_of, thread.channel) == ("reply", key, "C0ALPHA01")
    expected = [
        "📋 Huddle digest — Team Alpha, Wed 18 Nov",
        "*Focus:* First replies under an hour",
        "*Present (2):* Sipho Dlamini 🙁 _(late)_, Thandi Nkosi 🙂\n*Absent (1):* Ayesha Pillay\n*On leave (0):* —",
        "*Blockers (2):*\n• Waiting on refunds access — Sipho Dlamini\n• Zendesk is slow — Thandi Nkosi",
        "*Mood:* 3.0 average from 2 answers  (😣 0 · 🙁 1 · 😐 0 · 🙂 1 · 😄 0)",
        "*Notes:*\n• Sipho Dlamini: Training at 11",
        "Closed at 09:30 · 2 of 3 expected checked in (67%) · late = after 09:15",
    ]
    assert texts(thread.payload).split("\n") == "\n".join(expected).split("\n")
    assert thread.payload["text"] == "Huddle digest Team Alpha Wed 18 Nov: 2 present, 1 absent, 0 on leave, 2 blockers"
    for_ops = await outbox_row(ops, f"{key}:digest:ops")
    assert (for_ops.kind, for_ops.channel) == ("post", MANAGERS)
    assert texts(for_ops.payload) == "\n".join(e for e in expected if not e.startswith("*Notes:*"))
    (closed,) = await huddle_rows(ops)
    assert closed.status == "closed"
    assert closed.tally == {
        "expected": sorted([await _member(ops, a) for a in (AGENT_1, AGENT_2, AGENT_3)]),
        "present": sorted([await _member(ops, a) for a in (AGENT_1, AGENT_2)]),
        "late": [await _member(ops, AGENT_2)],
        "absent": [await _member(ops, AGENT_3)],
        "on_leave": [],
    }
    update = next(r for r in await outbox_rows(ops) if r.kind == "update")
    assert update.update_of == key
    assert "Check-ins closed at 09:30 · 2 checked in · the digest is in the thread" in texts(update.payload)
    assert all(b["type"] != "actions" for b in update.payload["blocks"])  # no Check in button any more


async def _team(deps: Deps) -> int:
    async with deps.sessions() as session:
        team = await team_by_key(session, "alpha")
    assert team is not None
    return team.id


async def test_the_digest_lands_in_the_prompts_thread(hud: Deps, clock: FixedClock, fake_slack: FakeSlack) -> None:
    await _prompt(hud, clock)
    await tick(hud, clock, datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))
    await deliver(hud, fake_slack, clock)
    prompt, digest = fake_slack.posted("C0ALPHA01")
    assert "thread_ts" not in prompt.body and digest.body["thread_ts"] == prompt.ts
    assert digest.text.startswith("Huddle digest Team Alpha Wed 18 Nov")
    assert len(prompt.edits) == 1 and "closed" in prompt.text


async def test_leave_is_neither_reminded_nor_absent(
    hud: Deps, clock: FixedClock, slash: SlashCommand, interact: Send
) -> None:
    resp = await slash(ALPHA_LEAD, f"leave <@{AGENT_3}|ayesha> 2026-11-17 2026-11-20", command="/huddle")
    assert resp.json()["text"].startswith("Ayesha Pillay is on leave Tue 17 Nov – Fri 20 Nov: not expected")
    huddle_id, key = await _prompt(hud, clock)
    await _check_in(interact, clock, 5, AGENT_1, huddle_id, "5")
    await tick(hud, clock, datetime(2026, 11, 18, 9, 20, 2, tzinfo=SAST))
    await tick(hud, clock, datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))
    assert [r.channel for r in await outbox_rows(hud) if r.kind == "dm"] == [AGENT_2]
    digest = texts((await outbox_row(hud, f"{key}:digest")).payload)
    assert "*Absent (1):* Sipho Dlamini\n*On leave (1):* Ayesha Pillay" in digest
    assert "1 of 2 expected checked in (50%)" in digest


async def test_with_schedules_only_agents_on_shift_are_expected(hud: Deps, clock: FixedClock, interact: Send) -> None:
    async with hud.sessions() as session:
        thandi, sipho = await _member(hud, AGENT_1), await _member(hud, AGENT_2)
        session.add_all(
            [
                ScheduleSegment(
                    member_id=thandi,
                    start=datetime(2026, 11, 18, 6, 0, tzinfo=UTC),  # 08:00–17:00 local
                    end=datetime(2026, 11, 18, 15, 0, tzinfo=UTC),
                    activity="open",
                ),
                ScheduleSegment(
                    member_id=sipho,
                    start=datetime(2026, 11, 18, 10, 0, tzinfo=UTC),  # the late shift: 12:00–21:00 local
                    end=datetime(2026, 11, 18, 19, 0, tzinfo=UTC),
                    activity="open",
                ),
            ]
        )
        await session.commit()
    huddle_id, key = await _prompt(hud, clock)
    await tick(hud, clock, datetime(2026, 11, 18, 9, 20, 2, tzinfo=SAST))
    assert [r.channel for r in await outbox_rows(hud) if r.kind == "dm"] == [AGENT_1]  # Ayesha has no shift
    await _check_in(interact, clock, 25, AGENT_1, huddle_id, "3")
    await tick(hud, clock, datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))
    digest = texts((await outbox_row(hud, f"{key}:digest")).payload)
    assert "*Present (1):* Thandi Nkosi 😐 _(late)_\n*Absent (0):* —\n*On leave (0):* —" in digest
    assert "1 of 1 expected checked in (100%)" in digest


async def test_anonymous_mood_names_no_one_and_hides_small_numbers(
    hud: Deps, clock: FixedClock, interact: Send
) -> None:
    await reconfigure(hud, huddle_org({**ALPHA_HUDDLE, "anonymous_mood": True}))
    huddle_id, key = await _prompt(hud, clock)
    await _check_in(interact, clock, 5, AGENT_1, huddle_id, "1")
    await _check_in(interact, clock, 6, AGENT_2, huddle_id, "5")
    await tick(hud, clock, datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))
    digest = texts((await outbox_row(hud, f"{key}:digest")).payload)
    assert "*Present (2):* Sipho Dlamini, Thandi Nkosi\n" in digest
    assert "*Mood:* hidden — fewer than 3 answers (this team's mood is anonymous)" in digest


async def test_a_restart_long_after_close_still_posts_the_digest_once(hud: Deps, clock: FixedClock) -> None:
    _, key = await _prompt(hud, clock)
    await tick(hud, clock, datetime(2026, 11, 18, 12, 0, tzinfo=SAST))  # down from 09:01 to 12:00
    await tick(hud, clock, datetime(2026, 11, 18, 12, 1, tzinfo=SAST))
    assert [r.idempotency_key for r in await outbox_rows(hud) if r.kind == "reply"] == [f"{key}:digest"]
    assert "Closed at 09:30 · 0 of 3 expected checked in (0%)" in texts(
        (await outbox_row(hud, f"{key}:digest")).payload
    )
    assert [r for r in await outbox_rows(hud) if r.kind == "dm"] == []  # no reminder after the close


async def test_a_second_shift_without_schedules_expects_no_one_but_counts_who_comes(
    hud: Deps, clock: FixedClock, interact: Send
) -> None:
    await reconfigure(hud, huddle_org({**ALPHA_HUDDLE, "second_shift": "14:00"}))
    await tick(hud, clock, datetime(2026, 11, 18, 14, 0, 2, tzinfo=SAST))
    (row,) = await huddle_rows(hud)
    assert row.seq == 2
    clock.set(datetime(2026, 11, 18, 14, 5, tzinfo=SAST))
    await interact(submission(AGENT_1, row.id or 0, "4"))
    assert (await tick(hud, clock, datetime(2026, 11, 18, 14, 20, 2, tzinfo=SAST))).reminders == 0  # no double DMs
    await tick(hud, clock, datetime(2026, 11, 18, 14, 30, 2, tzinfo=SAST))
    digest = texts((await outbox_row(hud, f"{row.message_key}:digest")).payload)
    assert "*Present (1):* Thandi Nkosi 🙂\n*Absent (0):* —\n*On leave (0):* —" in digest
    assert "no one was expected (no schedules for this shift), so only check-ins count" in digest
    (closed,) = await huddle_rows(hud)
    assert (closed.tally["expected"], closed.tally["present"]) == ([], [await _member(hud, AGENT_1)])


async def test_with_schedules_the_digest_names_who_was_not_scheduled(hud: Deps, clock: FixedClock) -> None:
    async with hud.sessions() as session:
        session.add(
            ScheduleSegment(
                member_id=await _member(hud, AGENT_1),
                start=datetime(2026, 11, 18, 6, 0, tzinfo=UTC),
                end=datetime(2026, 11, 18, 15, 0, tzinfo=UTC),
                activity="open",
            )
        )
        await session.commit()
    _, key = await _prompt(hud, clock)
    await tick(hud, clock, datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))
    digest = texts((await outbox_row(hud, f"{key}:digest")).payload)
    assert "*Absent (1):* Thandi Nkosi\n*On leave (0):* —\n*Not scheduled (2):* Ayesha Pillay, Sipho Dlamini" in digest
