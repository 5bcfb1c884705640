"""The schedule table: jobs from team settings, rebuilt on org changes; cron maths across DST."""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.org import OrgSpec
from bot.domain.schedule import SlotDecision
from bot.jobs.schedule import Scheduler, cron_at
from bot.services.snapshots import post_team_snapshot
from bot.store import jobruns
from bot.store.org import apply_org, team_schedules
from tests.support.org import ORG

UTC, LONDON, SAST = ZoneInfo("UTC"), ZoneInfo("Europe/London"), ZoneInfo("Africa/Johannesburg")


def _ids(s: Scheduler) -> set[str]:
    return {job.id for job in s.aps.get_jobs()}


async def test_jobs_come_from_team_settings_and_follow_org_changes(org: Deps) -> None:
    deps = dataclasses.replace(org, settings=org.settings.model_copy(update={"managers_channel": "C0MANAGERS"}))
    scheduler = Scheduler(deps)
    assert await scheduler.reload() is True
    assert _ids(scheduler) == {
        "kpi-snapshot:alpha:10:00",
        "kpi-snapshot:alpha:13:00",
        "kpi-snapshot:alpha:16:00",
        "kpi-snapshot:bravo:10:00",
        "campaign-report",
        "adherence-scan",
        "notice-tick",
        "huddle-tick",
        "adherence-kpis",
        "coaching-follow-ups",
        "coaching-retention",
    }
    assert await scheduler.reload() is False  # nothing changed, nothing rebuilt
    changed = copy.deepcopy(ORG)
    changed["teams"][0]["snapshot_times"] = ["11:30"]
    async with deps.sessions() as session:
        await apply_org(session, OrgSpec.model_validate(changed))
        await session.commit()
    assert await scheduler.reload() is True
    assert "kpi-snapshot:alpha:11:30" in _ids(scheduler) and "kpi-snapshot:alpha:10:00" not in _ids(scheduler)


def test_weekday_names_and_team_timezone() -> None:
    trigger = cron_at("10:00", "mon,tue,wed,thu,fri", "Africa/Johannesburg")
    friday_evening = datetime(2026, 11, 20, 18, 0, tzinfo=SAST)
    assert trigger.get_next_fire_time(None, friday_evening) == datetime(2026, 11, 23, 10, 0, tzinfo=SAST)


def test_london_cron_across_both_dst_transitions() -> None:
    trigger = cron_at("10:00", "mon,tue,wed,thu,fri,sat,sun", "Europe/London")
    spring = trigger.get_next_fire_time(None, datetime(2026, 3, 28, 12, 0, tzinfo=LONDON))
    autumn = trigger.get_next_fire_time(None, datetime(2026, 10, 24, 12, 0, tzinfo=LONDON))
    assert spring is not None and spring.astimezone(UTC) == datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    assert autumn is not None and autumn.astimezone(UTC) == datetime(2026, 10, 25, 10, 0, tzinfo=UTC)


async def test_the_repeated_autumn_hour_fires_twice_but_posts_once(org: Deps, clock: FixedClock) -> None:
    """APScheduler fires a 01:30 London job at both 01:30s on the night clocks go back; the slot is named by
    local time, so the second fire finds it taken."""
    trigger = cron_at("01:30", "mon,tue,wed,thu,fri,sat,sun", "Europe/London")
    first = trigger.get_next_fire_time(None, datetime(2026, 10, 24, 12, 0, tzinfo=LONDON))
    assert first is not None
    second = trigger.get_next_fire_time(first, first + timedelta(minutes=1))
    assert second is not None
    assert [first.astimezone(UTC).hour, second.astimezone(UTC).hour] == [0, 1]  # 01:30 BST, then 01:30 GMT

    async with org.sessions() as session:
        bravo = next(s for s in await team_schedules(session) if s.team.key == "bravo")
    every_day = dataclasses.replace(bravo, working_days="mon,tue,wed,thu,fri,sat,sun")
    decisions = []
    for fire in (first, second):
        clock.set(fire.astimezone(UTC) + timedelta(seconds=2))  # (local + timedelta would drop the DST fold)
        decisions.append(await post_team_snapshot(org, every_day, "01:30"))
    # The second fire is an hour after the slot's first moment: past the 15 min grace, and already claimed.
    assert decisions == [SlotDecision.RUN, SlotDecision.MISSED]
    async with org.sessions() as session:
        (run,) = await jobruns.runs(session, job_key="kpi-snapshot")
    assert (run.slot, run.status) == ("2026-10-25T01:30", "done")


async def test_catch_up_after_restart_posts_a_slot_missed_inside_grace(org: Deps, clock: FixedClock) -> None:
    from sqlalchemy import func, select

    from bot.store.tables import Outbox

    clock.set(datetime(2026, 11, 18, 10, 5, tzinfo=SAST))  # down 09:58–10:05, the 10:00 Alpha slot was missed
    scheduler = Scheduler(org)
    await scheduler.reload()
    await scheduler.catch_up()
    await scheduler.catch_up()  # a second restart posts nothing more
    async with org.sessions() as session:
        keys = (await session.execute(select(Outbox.idempotency_key))).scalars().all()
        assert (await session.execute(select(func.count()).select_from(Outbox))).scalar_one() == 1
    assert keys[0].endswith(":2026-11-18T10:00")
