"""Reminders by DM to the outstanding only (24 h and 2 h before the deadline, and at a scheduled agent's next
shift start), none to those on leave, once across ticks and replicas; after the deadline, one DM per lead."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import select

from bot.clock import FixedClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from bot.services.notice_reminders import run_notice_tick
from bot.store.jobruns import runs
from bot.store.leave import add_leave
from bot.store.notice_tables import NoticeReminder
from bot.store.org import member_by
from bot.store.tables import Outbox, ScheduleSegment
from tests.conftest import SECRET
from tests.notices.helpers import DEADLINE, Publish, Send, answer_text, click
from tests.support.org import AGENT_1, AGENT_2, AGENT_3, ALPHA_LEAD, BRAVO_AGENT, BRAVO_LEAD, MANAGER


async def _dms(deps: Deps) -> list[tuple[str, str]]:
    """(recipient, key suffix) of every DM queued, in order."""
    async with deps.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.kind == "dm").order_by(Outbox.id))).scalars()
        return [(r.channel, r.idempotency_key.split(":", 3)[3]) for r in rows]


async def _member_id(deps: Deps, email: str) -> int:
    async with deps.sessions() as session:
        m = await member_by(session, email=email)
    assert m
    return m.id


async def test_reminders_24h_and_2h_before_to_the_outstanding_only(
    org: Deps, publish: Publish, send: Send, slack: FakeSlack, clock: FixedClock
) -> None:
    notice_id = await publish()
    await send(click(AGENT_2, f"{notice_id}:1", slack))
    await slack.wait_for("webhook:/hook")
    thandi, bob = await _member_id(org, "thandi@example.com"), await _member_id(org, "bob@example.com")
    ayesha = await _member_id(org, "ayesha@example.com")

    clock.set(DEADLINE - timedelta(hours=24, minutes=1))
    assert (await run_notice_tick(org)).reminded == 0  # not yet
    clock.set(DEADLINE - timedelta(hours=24))
    assert (await run_notice_tick(org)).reminded == 3
    assert (await run_notice_tick(org)).reminded == 0
    clock.set(DEADLINE - timedelta(hours=2))
    assert (await run_notice_tick(org)).reminded == 3
    clock.set(DEADLINE - timedelta(minutes=1))
    assert (await run_notice_tick(org)).reminded == 0
    sent = await _dms(org)
    assert sorted(sent) == sorted(
        (user, f"remind:{member}:{kind}")
        for kind in ("before-24h@2026-11-20T15:00Z", "before-2h@2026-11-20T15:00Z")
        for user, member in ((AGENT_1, thandi), (AGENT_3, ayesha), (BRAVO_AGENT, bob))
    )
    assert AGENT_2 not in {user for user, _ in sent}  # Sipho acknowledged


async def test_nobody_on_leave_is_reminded_and_late_ticks_send_one_message(
    org: Deps, publish: Publish, clock: FixedClock
) -> None:
    await publish(teams=("alpha",))
    ayesha = await _member_id(org, "ayesha@example.com")
    async with org.sessions() as session:
        await add_leave(session, ayesha, date(2026, 11, 18), date(2026, 11, 30))
        await session.commit()
    clock.set(DEADLINE - timedelta(hours=1))  # down through both reminder times: one message covers both
    result = await run_notice_tick(org)
    assert result.reminded == 2 and result.skipped_on_leave == 1
    assert {user for user, _ in await _dms(org)} == {AGENT_1, AGENT_2}
    async with org.sessions() as session:
        kinds = (await session.execute(select(NoticeReminder.kind))).scalars().all()
    d24, d2 = "before-24h@2026-11-20T15:00Z", "before-2h@2026-11-20T15:00Z"
    assert sorted(kinds) == [d24, d24, d2, d2]


async def test_a_scheduled_agent_is_reminded_at_the_start_of_their_next_shift(
    org: Deps, publish: Publish, clock: FixedClock
) -> None:
    await publish(teams=("alpha",))
    thandi = await _member_id(org, "thandi@example.com")
    start = datetime(2026, 11, 19, 6, 0, tzinfo=UTC)  # Thursday 08:00 in Durban
    async with org.sessions() as session:
        session.add(ScheduleSegment(member_id=thandi, start=start, end=start + timedelta(hours=4), activity="open"))
        session.add(
            ScheduleSegment(
                member_id=thandi,
                start=start + timedelta(hours=4),
                end=start + timedelta(hours=5),
                activity="lunch",
            )
        )
        await session.commit()
    clock.set(start - timedelta(minutes=1))
    assert (await run_notice_tick(org)).reminded == 0
    clock.set(start)
    assert (await run_notice_tick(org)).reminded == 1
    clock.set(start + timedelta(hours=4, minutes=30))  # back from lunch is not a new shift
    assert (await run_notice_tick(org)).reminded == 0
    assert await _dms(org) == [(AGENT_1, f"remind:{thandi}:shift")]


async def test_two_replicas_ticking_together_remind_once(org: Deps, publish: Publish, clock: FixedClock) -> None:
    await publish()
    clock.set(DEADLINE - timedelta(hours=2))
    results = await asyncio.gather(run_notice_tick(org), run_notice_tick(org), run_notice_tick(org))
    assert sum(r.reminded for r in results) == 4
    assert len(await _dms(org)) == 4


async def test_after_the_deadline_each_lead_gets_the_outstanding_names_once(
    org: Deps, publish: Publish, send: Send, slack: FakeSlack, clock: FixedClock
) -> None:
    notice_id = await publish()
    await send(click(AGENT_1, f"{notice_id}:1", slack))
    await slack.wait_for("webhook:/hook")
    ayesha = await _member_id(org, "ayesha@example.com")
    async with org.sessions() as session:
        await add_leave(session, ayesha, date(2026, 11, 20), date(2026, 11, 21))
        await session.commit()
    clock.set(DEADLINE + timedelta(minutes=1))
    result = await run_notice_tick(org)
    assert result.escalated == 2 and result.reminded == 0
    assert (await run_notice_tick(org)).escalated == 0
    async with org.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.kind == "dm"))).scalars().all()
        claimed = await runs(session, job_key="notice-escalate")
    by_user = {r.channel: r.payload for r in rows}
    assert set(by_user) == {ALPHA_LEAD, BRAVO_LEAD}  # the manager is not told: each team has a lead
    alpha = str(by_user[ALPHA_LEAD]["blocks"])
    assert "2 of 3 in *Team Alpha*" in alpha
    assert "• Sipho Dlamini" in alpha and "• Ayesha Pillay (on leave)" in alpha and "Thandi" not in alpha
    assert "• Bob Brown" in str(by_user[BRAVO_LEAD]["blocks"])
    assert [r.status for r in claimed] == ["done", "done"]


async def test_manual_reminder_nudges_the_leads_teams_once_a_minute(
    org: Deps, client: httpx.AsyncClient, publish: Publish, slack: FakeSlack, clock: FixedClock
) -> None:
    notice_id = await publish(MANAGER)

    async def remind(user: str) -> str:
        body = slash_command_body("/notice", f"remind {notice_id}", user_id=user, response_url=slack.url + "hook")
        resp = await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
        return await answer_text(resp, slack)

    assert await remind(ALPHA_LEAD) == f"Reminded 3 people who haven't acknowledged notice #{notice_id}."
    assert (
        await remind(ALPHA_LEAD)
        == f"They were reminded a moment ago; nobody was reminded twice for notice #{notice_id}."
    )
    assert {user for user, _ in await _dms(org)} == {AGENT_1, AGENT_2, AGENT_3}  # not Bob: Bravo isn't hers
    clock.set(clock.now() + timedelta(minutes=5))
    assert await remind(BRAVO_LEAD) == f"Reminded 1 person who hasn't acknowledged notice #{notice_id}."
    dm = next(r for r in await _dms(org) if r[0] == BRAVO_AGENT)
    assert dm[1].endswith(":manual:2026-11-18T12:35")
