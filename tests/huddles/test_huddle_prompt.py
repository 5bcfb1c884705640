"""The huddle prompt: posted at the team's local time (both time zones, across DST), once, with yesterday's
KPIs, open alerts and the focus; never on weekends, holidays or skipped days."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.deps import Deps
from bot.services.huddle_tick import run_huddle_tick
from bot.store import huddles, jobruns
from bot.store.org import team_by_key
from bot.store.tables import Breach, Member
from tests.huddles.conftest import (
    ALPHA_HUDDLE,
    LONDON,
    SAST,
    huddle_org,
    huddle_rows,
    outbox_row,
    outbox_rows,
    reconfigure,
    texts,
    tick,
)
from tests.support.kpis import add_samples, sample


async def _team_id(deps: Deps, key: str) -> int:
    async with deps.sessions() as session:
        team = await team_by_key(session, key)
    assert team is not None
    return team.id


async def test_prompt_posts_at_local_huddle_time_once(hud: Deps, clock: FixedClock) -> None:
    assert (await tick(hud, clock, datetime(2026, 11, 18, 8, 59, 59, tzinfo=SAST))).posted == []
    result = await tick(hud, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    assert len(result.posted) == 1
    for minute in (1, 2, 10):  # later ticks, a restart's catch-up: nothing more
        assert (await tick(hud, clock, datetime(2026, 11, 18, 9, minute, 2, tzinfo=SAST))).posted == []
    alpha = await _team_id(hud, "alpha")
    (row,) = await outbox_rows(hud)
    assert (row.idempotency_key, row.channel, row.kind) == (f"huddle:{alpha}:2026-11-18:1", "C0ALPHA01", "post")
    (huddle,) = await huddle_rows(hud)
    assert (huddle.day, huddle.seq, huddle.status) == (date(2026, 11, 18), 1, "open")
    assert huddle.closes_at == datetime(2026, 11, 18, 7, 30, tzinfo=UTC)  # 09:30 SAST
    assert huddle.remind_at == datetime(2026, 11, 18, 7, 20, tzinfo=UTC)
    assert huddle.late_at == datetime(2026, 11, 18, 7, 15, 2, tzinfo=UTC)
    async with hud.sessions() as session:
        (run,) = await jobruns.runs(session, job_key="huddle-prompt")
    assert (run.subject, run.slot, run.status) == (f"team:{alpha}", "2026-11-18T09:00", "done")
    actions = [b for b in row.payload["blocks"] if b["type"] == "actions"]
    (checkin,) = actions[0]["elements"]
    assert (checkin["action_id"], checkin["value"]) == ("huddle.checkin", str(huddle.id))


async def test_prompt_shows_yesterdays_kpis_alerts_and_focus(hud: Deps, clock: FixedClock) -> None:
    await add_samples(
        hud,
        sample("csat", "thandi@example.com", "2026-11-17", 17, 20),
        sample("aht", "thandi@example.com", "2026-11-17", 5000, 10),
        sample("csat", "thandi@example.com", "2026-11-18", 1, 20),  # today's figure is not yesterday's
    )
    alpha = await _team_id(hud, "alpha")
    async with hud.sessions() as session:
        thandi = (await session.execute(select(Member).where(Member.email == "thandi@example.com"))).scalar_one()
        for kind, status in (("long_break", "open"), ("late_login", "open"), ("out_of_adherence", "resolved")):
            session.add(
                Breach(
                    member_id=thandi.id or 0,
                    team_id=alpha,
                    kind=kind,
                    started_at=datetime(2026, 11, 18, 6, 0, tzinfo=UTC),
                    status=status,
                )
            )
        now = datetime(2026, 11, 18, 5, 0, tzinfo=UTC)
        await huddles.save_day(session, alpha, date(2026, 11, 18), now=now, focus="First replies under an hour")
        await session.commit()
    await tick(hud, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    (row,) = await outbox_rows(hud)
    assert texts(row.payload) == "\n".join(
        [
            "☀️ Team Alpha huddle — Wed 18 Nov",
            "*Today's focus:* First replies under an hour",
            "*KPIs Tue 17 Nov:* 🟢 CSAT 85.0%  ·  🔴 Handle time 8m 20s",
            "⏱ *Open adherence alerts:* 2",
            "Check in",
            "Check in by 09:30 (after 09:15 counts as late) — or reply in this thread.",
        ]
    )
    assert row.payload["text"] == "Team Alpha huddle Wed 18 Nov: check in by 09:30"


async def test_a_monday_prompt_shows_the_last_working_days_kpis(hud: Deps, clock: FixedClock) -> None:
    await add_samples(
        hud,
        sample("csat", "thandi@example.com", "2026-11-20", 18, 20),  # Friday
        sample("csat", "thandi@example.com", "2026-11-22", 1, 20),  # Sunday: not a working day for Alpha
    )
    await tick(hud, clock, datetime(2026, 11, 23, 9, 0, 2, tzinfo=SAST))  # Monday
    (row,) = await outbox_rows(hud)
    assert "*KPIs Fri 20 Nov:* 🟢 CSAT 90.0%" in texts(row.payload)


@pytest.mark.parametrize(
    ("utc_moment", "posted"),
    [
        (datetime(2026, 3, 27, 10, 0, 2, tzinfo=UTC), True),  # Friday before the clocks go forward: GMT
        (datetime(2026, 3, 30, 9, 0, 2, tzinfo=UTC), True),  # Monday after: BST, 10:00 local is 09:00 UTC
        (datetime(2026, 3, 30, 10, 0, 2, tzinfo=UTC), False),  # …so 10:00 UTC is 11:00 local: window over
        (datetime(2026, 10, 23, 9, 0, 2, tzinfo=UTC), True),  # Friday before the clocks go back: BST
        (datetime(2026, 10, 26, 10, 0, 2, tzinfo=UTC), True),  # Monday after: GMT again
        (datetime(2026, 10, 26, 9, 0, 2, tzinfo=UTC), False),  # 09:00 local: too early
    ],
)
async def test_london_prompt_follows_local_time_across_dst(
    hud: Deps, clock: FixedClock, utc_moment: datetime, posted: bool
) -> None:
    result = await tick(hud, clock, utc_moment)
    bravo_posted = [h for h in await huddle_rows(hud) if h.team_id == await _team_id(hud, "bravo")]
    assert bool(bravo_posted) is posted
    if posted:
        (row,) = bravo_posted
        assert row.posted_at.astimezone(LONDON).strftime("%H:%M") == "10:00"
        assert row.closes_at.astimezone(LONDON).strftime("%H:%M") == "10:20"
        assert len(result.posted) == 1


async def test_both_teams_post_at_their_own_local_time(hud: Deps, clock: FixedClock) -> None:
    # 09:00 Durban is 07:00 UTC; 10:00 London (GMT in November) is 10:00 UTC.
    assert len((await tick(hud, clock, datetime(2026, 11, 18, 7, 0, 5, tzinfo=UTC))).posted) == 1
    assert len((await tick(hud, clock, datetime(2026, 11, 18, 10, 0, 5, tzinfo=UTC))).posted) == 1
    channels = sorted(r.channel for r in await outbox_rows(hud) if r.kind == "post")
    assert channels == ["C0ALPHA01", "C0BRAVO01"]


@pytest.mark.parametrize(
    "when",
    [datetime(2026, 11, 21, 9, 0, 2, tzinfo=SAST), datetime(2026, 12, 25, 9, 0, 2, tzinfo=SAST)],
    ids=["saturday", "holiday"],
)
async def test_no_prompt_on_weekends_and_holidays(hud: Deps, clock: FixedClock, when: datetime) -> None:
    await tick(hud, clock, when)
    assert [h for h in await huddle_rows(hud) if h.team_id == await _team_id(hud, "alpha")] == []


async def test_a_skipped_day_posts_nothing_and_says_so_once(hud: Deps, clock: FixedClock) -> None:
    alpha = await _team_id(hud, "alpha")
    async with hud.sessions() as session:
        await huddles.save_day(session, alpha, date(2026, 11, 18), now=clock.now(), skipped=True)
        await session.commit()
    await tick(hud, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    await tick(hud, clock, datetime(2026, 11, 18, 9, 5, 2, tzinfo=SAST))
    assert await huddle_rows(hud) == [] and await outbox_rows(hud) == []
    async with hud.sessions() as session:
        (run,) = await jobruns.runs(session, job_key="huddle-prompt")
    assert run.status == "skipped"


async def test_restart_inside_the_window_posts_late_but_closes_on_time(hud: Deps, clock: FixedClock) -> None:
    # Down from before 09:00 until 09:20, the reminder time: the prompt posts now, nobody is reminded at once.
    assert len((await tick(hud, clock, datetime(2026, 11, 18, 9, 20, tzinfo=SAST))).posted) == 1
    (huddle,) = await huddle_rows(hud)
    assert huddle.posted_at == datetime(2026, 11, 18, 9, 20, tzinfo=SAST)
    assert huddle.closes_at == datetime(2026, 11, 18, 9, 30, tzinfo=SAST)  # the slot's own close, not 09:50
    assert huddle.late_at == huddle.closes_at  # 15 minutes after posting would be past the close
    assert huddle.remind_at is None  # its time came before the prompt did
    assert (await tick(hud, clock, datetime(2026, 11, 18, 9, 21, tzinfo=SAST))).reminders == 0
    assert [r.kind for r in await outbox_rows(hud)] == ["post"]
    assert len((await tick(hud, clock, datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))).closed) == 1


async def test_restart_before_the_reminder_time_still_reminds_on_time(hud: Deps, clock: FixedClock) -> None:
    await tick(hud, clock, datetime(2026, 11, 18, 9, 12, tzinfo=SAST))
    (huddle,) = await huddle_rows(hud)
    assert huddle.remind_at == datetime(2026, 11, 18, 9, 20, tzinfo=SAST)
    assert huddle.late_at == datetime(2026, 11, 18, 9, 27, tzinfo=SAST)
    assert (await tick(hud, clock, datetime(2026, 11, 18, 9, 13, tzinfo=SAST))).reminders == 0
    assert (await tick(hud, clock, datetime(2026, 11, 18, 9, 20, 2, tzinfo=SAST))).reminders == 3


async def test_restart_after_the_window_records_a_miss_and_posts_nothing(hud: Deps, clock: FixedClock) -> None:
    await tick(hud, clock, datetime(2026, 11, 18, 9, 31, tzinfo=SAST))
    assert await huddle_rows(hud) == []
    async with hud.sessions() as session:
        (run,) = await jobruns.runs(session, job_key="huddle-prompt")
    assert (run.slot, run.status) == ("2026-11-18T09:00", "missed")


async def test_two_replicas_racing_post_one_prompt(hud: Deps, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 18, 9, 0, 1, tzinfo=SAST))
    other = dataclasses.replace(hud, clock=FixedClock(clock.now()))
    await asyncio.gather(*(run_huddle_tick(d) for d in (hud, other, hud, other)))
    assert len(await huddle_rows(hud)) == 1
    assert len(await outbox_rows(hud)) == 1


async def test_second_shift_gets_its_own_prompt(hud: Deps, clock: FixedClock) -> None:
    await reconfigure(hud, huddle_org({**ALPHA_HUDDLE, "second_shift": "14:00"}))
    await tick(hud, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    await tick(hud, clock, datetime(2026, 11, 18, 14, 0, 2, tzinfo=SAST))
    alpha = await _team_id(hud, "alpha")
    rows = [h for h in await huddle_rows(hud) if h.team_id == alpha]
    assert [(h.seq, h.posted_at.astimezone(SAST).strftime("%H:%M")) for h in rows] == [(1, "09:00"), (2, "14:00")]
    second = await outbox_row(hud, f"huddle:{alpha}:2026-11-18:2")
    assert texts(second.payload).startswith("☀️ Team Alpha huddle (second shift) — Wed 18 Nov")


async def test_prompt_lists_notices_awaiting_acknowledgement(hud: Deps, clock: FixedClock) -> None:
    from bot.domain.notices import NoticeContent
    from bot.store.notices import create_notice
    from bot.store.org import member_by

    alpha = await _team_id(hud, "alpha")
    async with hud.sessions() as session:
        lead = await member_by(session, email="lead.alpha@example.com")
        assert lead is not None
        content = NoticeContent("Refund policy", "Refunds over R500 need a lead.", None, date(2026, 11, 16))
        await create_notice(
            session, author_id=lead.id, team_ids=[alpha], content=content, deadline=None, now=clock.now()
        )
        await session.commit()
    await tick(hud, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    (row,) = await outbox_rows(hud)
    assert (
        "⏱ *Open adherence alerts:* 0\n📌 *Notices awaiting acknowledgement:*\n• Refund policy — 3 still to acknowledge"
        in (texts(row.payload))
    )
