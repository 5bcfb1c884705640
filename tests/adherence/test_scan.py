"""The per-minute adherence scan: one breach row and one Slack message per stretch, updated then resolved."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlmodel import col

from bot.clock import FixedClock
from bot.deps import Deps
from bot.ingest.adherence import import_schedule, import_states
from bot.services.adherence import scan_adherence, scan_after_ingest
from bot.services.breaches import act
from bot.store.tables import Breach, Outbox, Team
from tests.support.org import ALPHA_LEAD

SAST = ZoneInfo("Africa/Johannesburg")


async def _seed(deps: Deps, states: list[tuple[str, str]]) -> None:
    async with deps.sessions() as session:
        await import_schedule(
            session,
            [
                (
                    2,
                    {
                        "agent": "thandi@example.com",
                        "start": "2026-11-18T08:00",
                        "end": "2026-11-18T12:00",
                        "activity": "open",
                    },
                ),
                (
                    3,
                    {
                        "agent": "thandi@example.com",
                        "start": "2026-11-18T12:00",
                        "end": "2026-11-18T12:30",
                        "activity": "lunch",
                    },
                ),
                (
                    4,
                    {
                        "agent": "thandi@example.com",
                        "start": "2026-11-18T12:30",
                        "end": "2026-11-18T17:00",
                        "activity": "open",
                    },
                ),
            ],
        )
        records = [(i + 2, {"agent": "thandi@example.com", "at": at, "state": s}) for i, (at, s) in enumerate(states)]
        assert (await import_states(session, records))[1] == []
        await session.commit()


async def _rows(deps: Deps) -> tuple[list[Breach], list[Outbox]]:
    async with deps.sessions() as session:
        breaches = list((await session.execute(select(Breach))).scalars())
        messages = list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())  # type: ignore[arg-type]
    return breaches, messages


async def test_lunch_overrun_posts_once_updates_in_place_and_resolves(org: Deps, clock: FixedClock) -> None:
    await _seed(org, [("2026-11-18T07:58", "available"), ("2026-11-18T12:00", "lunch")])
    clock.set(datetime(2026, 11, 18, 12, 34, tzinfo=SAST))  # 4 min over: under the 5 min threshold
    assert (await scan_adherence(org)).opened == 0
    clock.set(datetime(2026, 11, 18, 12, 36, tzinfo=SAST))
    assert (await scan_adherence(org)).opened == 1
    assert (await scan_adherence(org)).opened == 0  # the same stretch, the same row: no second alert
    (breach,), (post,) = await _rows(org)
    assert (breach.kind, breach.status, breach.ended_at) == ("long_break", "open", None)
    assert post.channel == "C0ALPHA01" and post.idempotency_key == f"breach:{breach.id}"
    text = str(post.payload["blocks"])
    assert "*Thandi Nkosi* — Break overrun" in text and "*6 min* since 12:30" in text and "breach.ack" in text

    clock.set(datetime(2026, 11, 18, 12, 40, tzinfo=SAST))
    await scan_adherence(org)
    async with org.sessions() as session:
        await import_states(
            session, [(2, {"agent": "thandi@example.com", "at": "2026-11-18T12:42", "state": "available"})]
        )
        await session.commit()
    clock.set(datetime(2026, 11, 18, 12, 43, tzinfo=SAST))
    assert (await scan_adherence(org)).resolved == 1
    (breach,), messages = await _rows(org)
    assert breach.status == "resolved" and breach.ended_at is not None
    updates = [m for m in messages if m.kind == "update"]
    assert [m.update_of for m in updates] == [f"breach:{breach.id}"] * len(updates)
    assert "back in adherence after 12 min" in str(updates[-1].payload["blocks"])  # the whole stretch
    assert len(messages) == 1 + len(updates) and len(updates) == 2


async def test_many_breaches_at_once_are_batched(org: Deps, clock: FixedClock) -> None:
    agents = ["thandi@example.com", "sipho@example.com", "ayesha@example.com"]
    async with org.sessions() as session:
        rows = [
            (i + 2, {"agent": a, "start": "2026-11-18T08:00", "end": "2026-11-18T17:00", "activity": "open"})
            for i, a in enumerate(agents)
        ]
        await import_schedule(session, rows)
        await session.execute(update(Team).where(col(Team.key) == "alpha").values(adherence={"alert_cap": 1}))
        await session.commit()
    clock.set(datetime(2026, 11, 18, 8, 10, tzinfo=SAST))  # nobody logged in: three late logins together
    result = await scan_adherence(org)
    assert (result.opened, result.batched) == (3, 2)
    _, messages = await _rows(org)
    assert len(messages) == 2
    assert "2 more agents out of adherence in Team Alpha" in messages[1].payload["text"]


async def test_logging_off_mid_shift_is_offline_not_an_early_logout(org: Deps, clock: FixedClock) -> None:
    """The scan reads the rest of the shift too: at 10:00 the 12:30-17:00 block is still to come."""
    await _seed(org, [("2026-11-18T07:58", "available"), ("2026-11-18T10:00", "offline")])
    clock.set(datetime(2026, 11, 18, 10, 12, tzinfo=SAST))
    assert (await scan_adherence(org)).opened == 1
    (breach,), (post,) = await _rows(org)
    assert breach.kind == "unscheduled_offline" and "Offline mid-shift" in str(post.payload["blocks"])
    clock.set(datetime(2026, 11, 18, 16, 52, tzinfo=SAST))  # gone again in the last block: that one is early
    async with org.sessions() as session:
        records = [
            (2, {"agent": "thandi@example.com", "at": "2026-11-18T10:20", "state": "available"}),
            (3, {"agent": "thandi@example.com", "at": "2026-11-18T16:40", "state": "offline"}),
        ]
        await import_states(session, records)
        await session.commit()
    await scan_adherence(org)
    breaches, _ = await _rows(org)
    assert sorted(b.kind for b in breaches) == ["early_logout", "unscheduled_offline"]


async def test_the_minute_update_keeps_who_acknowledged(org: Deps, clock: FixedClock) -> None:
    await _seed(org, [("2026-11-18T07:58", "available"), ("2026-11-18T12:00", "lunch")])
    clock.set(datetime(2026, 11, 18, 12, 36, tzinfo=SAST))
    await scan_adherence(org)
    (breach,), _ = await _rows(org)
    assert breach.id is not None
    await act(org, user_id=ALPHA_LEAD, breach_id=breach.id, action="acknowledge")
    clock.set(datetime(2026, 11, 18, 12, 38, tzinfo=SAST))
    assert (await scan_adherence(org)).updated == 1  # 8 minutes now
    _, messages = await _rows(org)
    assert "*8 min*" in str(messages[-1].payload) and "Acknowledged by Lindiwe Lead" in str(messages[-1].payload)


async def test_a_republished_schedule_withdraws_an_alert_that_no_longer_stands(org: Deps, clock: FixedClock) -> None:
    """WFM moves the lunch to 12:15-13:00 after the overrun alert went out: the alert stands down in place,
    leaves the open counts, and its buttons go; an excuse clicked on the old message changes nothing."""
    await _seed(org, [("2026-11-18T07:58", "available"), ("2026-11-18T12:00", "lunch")])
    clock.set(datetime(2026, 11, 18, 12, 36, tzinfo=SAST))
    await scan_adherence(org)
    (breach,), _ = await _rows(org)
    assert breach.id is not None
    await act(org, user_id=ALPHA_LEAD, breach_id=breach.id, action="acknowledge")  # acknowledged alerts too
    async with org.sessions() as session:
        republished = [
            (2, {"agent": "thandi@example.com", "start": "2026-11-18T12:00", "end": "2026-11-18T13:00"}),
            (3, {"agent": "thandi@example.com", "start": "2026-11-18T13:00", "end": "2026-11-18T17:00"}),
        ]
        activities = ("lunch", "open")
        rows = [(line, r | {"activity": a}) for (line, r), a in zip(republished, activities, strict=True)]
        assert (await import_schedule(session, rows))[1] == []
        await session.commit()
    clock.set(datetime(2026, 11, 18, 12, 38, tzinfo=SAST))
    result = await scan_adherence(org)
    assert (result.withdrawn, result.opened, result.teams) == (1, 0, {breach.team_id: 0})
    (breach,), messages = await _rows(org)
    assert breach.status == "withdrawn" and breach.ended_at == clock.now()
    update = messages[-1]
    assert update.kind == "update" and update.update_of == f"breach:{breach.id}"
    assert "withdrawn, no longer a breach" in str(update.payload["blocks"])
    assert "breach.ack" not in str(update.payload["blocks"]) and "withdrawn" in update.payload["text"]
    assert (await scan_adherence(org)).withdrawn == 0  # once

    reply = await act(org, user_id=ALPHA_LEAD, breach_id=breach.id, action="excuse", reason="schedule_error")
    assert "withdrawn" in reply and "nothing changed" in reply
    (after,), _ = await _rows(org)
    assert (after.status, after.reason_code) == ("withdrawn", None)


async def test_an_agent_taken_off_the_schedule_has_their_alert_withdrawn(org: Deps, clock: FixedClock) -> None:
    """The WFM deletes the agent's shift (sent home sick, say): nobody on the team is scheduled any more, and the
    open alert stands down rather than waiting forever for a stretch the scan no longer looks at."""
    from bot.store.tables import ScheduleSegment

    await _seed(org, [("2026-11-18T07:58", "available"), ("2026-11-18T12:00", "lunch")])
    clock.set(datetime(2026, 11, 18, 12, 36, tzinfo=SAST))
    assert (await scan_adherence(org)).opened == 1
    async with org.sessions() as session:
        await session.execute(delete(ScheduleSegment))
        await session.commit()
    clock.set(datetime(2026, 11, 18, 12, 37, tzinfo=SAST))
    assert (await scan_adherence(org)).withdrawn == 1
    (breach,), _ = await _rows(org)
    assert breach.status == "withdrawn"


async def test_scans_asked_for_by_ingest_while_one_waits_are_that_one(org: Deps) -> None:
    await _seed(org, [("2026-11-18T07:58", "available")])
    async with org.scan_lock:  # a scan is running
        waiting = asyncio.get_running_loop().create_task(scan_after_ingest(org))
        await asyncio.sleep(0.01)
        assert await scan_after_ingest(org) is None  # the waiting scan will read these events too
        assert await scan_after_ingest(org) is None
    assert (await waiting) is not None
    ran = await scan_after_ingest(org)  # nothing waiting now: this one scans
    assert ran is not None and ran.agents == 1
