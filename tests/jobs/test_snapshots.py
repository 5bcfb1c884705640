"""Scheduled KPI snapshots: posted once per slot in the team's local time, restart-safe, DST-safe."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.models import TeamSchedule
from bot.domain.schedule import SlotDecision
from bot.services.snapshots import post_team_snapshot
from bot.store import jobruns
from bot.store.org import team_schedules
from bot.store.tables import Outbox
from tests.support.kpis import add_samples, sample

SAST, LONDON = ZoneInfo("Africa/Johannesburg"), ZoneInfo("Europe/London")


async def _schedule(deps: Deps, key: str) -> TeamSchedule:
    async with deps.sessions() as session:
        return next(s for s in await team_schedules(session) if s.team.key == key)


async def _outbox(deps: Deps) -> list[Outbox]:
    async with deps.sessions() as session:
        return list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())  # type: ignore[arg-type]


async def test_snapshot_is_queued_once_for_the_team_channel(org: Deps, clock: FixedClock) -> None:
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 17, 20))
    clock.set(datetime(2026, 11, 18, 10, 0, 5, tzinfo=SAST))
    alpha = await _schedule(org, "alpha")
    assert await post_team_snapshot(org, alpha, "10:00") is SlotDecision.RUN
    assert await post_team_snapshot(org, alpha, "10:00") is SlotDecision.NOT_DUE  # the slot is taken
    (row,) = await _outbox(org)
    assert row.channel == "C0ALPHA01" and row.kind == "post"
    assert row.idempotency_key == f"kpi-snapshot:{alpha.team.id}:2026-11-18T10:00"
    assert row.payload["blocks"][0]["text"]["text"] == "📊 Team Alpha"
    assert "85.0%" in str(row.payload["blocks"])  # 17/20, today's figure


async def test_restart_inside_grace_posts_the_missed_slot_once(org: Deps, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 18, 10, 14, tzinfo=SAST))  # 14 min late; grace is 15 min
    alpha = await _schedule(org, "alpha")
    assert await post_team_snapshot(org, alpha, "10:00") is SlotDecision.RUN
    assert len(await _outbox(org)) == 1


async def test_beyond_grace_the_slot_is_logged_as_missed_not_posted_late(org: Deps, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 18, 10, 16, tzinfo=SAST))
    alpha = await _schedule(org, "alpha")
    assert await post_team_snapshot(org, alpha, "10:00") is SlotDecision.MISSED
    assert await _outbox(org) == []
    async with org.sessions() as session:
        (run,) = await jobruns.runs(session, job_key="kpi-snapshot")
    assert (run.slot, run.status) == ("2026-11-18T10:00", "missed")


@pytest.mark.parametrize(
    "when",
    [datetime(2026, 11, 21, 10, 0, 5, tzinfo=SAST), datetime(2026, 12, 25, 10, 0, 5, tzinfo=SAST)],
    ids=["saturday", "holiday"],
)
async def test_no_snapshot_on_weekends_and_holidays(org: Deps, clock: FixedClock, when: datetime) -> None:
    clock.set(when)
    assert await post_team_snapshot(org, await _schedule(org, "alpha"), "10:00") is not SlotDecision.RUN
    assert await _outbox(org) == []


async def test_no_data_today_is_said_plainly(org: Deps, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 18, 13, 0, 1, tzinfo=SAST))
    await post_team_snapshot(org, await _schedule(org, "alpha"), "13:00")
    (row,) = await _outbox(org)
    assert "No KPI data for *today · Wed 18 Nov* yet" in str(row.payload["blocks"])


async def test_stale_data_is_flagged(org: Deps, clock: FixedClock) -> None:
    await add_samples(
        org,
        {
            "metric": "items",
            "subject": "thandi@example.com",
            "start": "2026-11-18T08:00",
            "end": "2026-11-18T09:00",
            "numerator": 4,
        },
    )
    clock.set(datetime(2026, 11, 18, 16, 0, 1, tzinfo=SAST))  # newest figure is 7 h old; stale after 3 h
    await post_team_snapshot(org, await _schedule(org, "alpha"), "16:00")
    (row,) = await _outbox(org)
    assert "⚠️ Stale data: the newest figure is 7 h 00 min old" in str(row.payload["blocks"])


async def test_two_instances_racing_for_one_slot_post_it_once(org: Deps, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 18, 10, 0, 1, tzinfo=SAST))
    alpha = await _schedule(org, "alpha")
    other = dataclasses.replace(org, clock=FixedClock(clock.now()))  # a second replica, same database
    results = await asyncio.gather(*(post_team_snapshot(d, alpha, "10:00") for d in (org, other, org, other)))
    assert results.count(SlotDecision.RUN) == 1
    assert len(await _outbox(org)) == 1


@pytest.mark.parametrize(
    ("local", "utc_hour"),
    [
        (datetime(2026, 3, 27, 10, 0, 2, tzinfo=LONDON), 10),  # Friday before clocks go forward: GMT
        (datetime(2026, 3, 30, 10, 0, 2, tzinfo=LONDON), 9),  # Monday after: BST, 09:00 UTC
        (datetime(2026, 10, 23, 10, 0, 2, tzinfo=LONDON), 9),  # Friday before clocks go back: BST
        (datetime(2026, 10, 26, 10, 0, 2, tzinfo=LONDON), 10),  # Monday after: GMT
    ],
)
async def test_london_snapshot_follows_local_time_across_dst(
    org: Deps, clock: FixedClock, local: datetime, utc_hour: int
) -> None:
    clock.set(local)
    bravo = await _schedule(org, "bravo")
    assert await post_team_snapshot(org, bravo, "10:00") is SlotDecision.RUN
    async with org.sessions() as session:
        (run,) = await jobruns.runs(session, job_key="kpi-snapshot")
    assert run.slot == local.strftime("%Y-%m-%dT10:00")
    assert run.scheduled_for.hour == utc_hour
