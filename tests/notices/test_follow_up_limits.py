"""Escalation always reaches someone (lead, else manager, else admin, else the admin channel) or waits for
someone; and follow-up ends: a notice long past its deadline is no longer listed for huddles nor ticked."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import select, update
from sqlmodel import col

from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.notice_schedule import ESCALATION_GRACE, NO_DEADLINE_HORIZON
from bot.services.notice_reminders import run_notice_tick
from bot.store.jobruns import runs
from bot.store.notices import awaiting_for_team, current_versions
from bot.store.tables import Member, Outbox
from tests.notices.helpers import DEADLINE, Publish
from tests.support.org import ADMIN, ALPHA_LEAD, BRAVO_LEAD, MANAGER


async def _deactivate(deps: Deps, *users: str) -> None:
    async with deps.sessions() as session:
        await session.execute(update(Member).where(col(Member.slack_user_id).in_(users)).values(active=False))
        await session.commit()


async def _escalations(deps: Deps) -> list[tuple[str, str]]:
    async with deps.sessions() as session:
        rows = (await session.execute(select(Outbox).order_by(Outbox.id))).scalars().all()
    return [(r.kind, r.channel) for r in rows if ":escalate:" in r.idempotency_key]


async def test_a_team_without_lead_or_manager_escalates_to_the_admins(
    org: Deps, publish: Publish, clock: FixedClock
) -> None:
    await publish()
    await _deactivate(org, ALPHA_LEAD, MANAGER)
    clock.set(DEADLINE + timedelta(minutes=1))
    assert (await run_notice_tick(org)).escalated == 2
    assert sorted(await _escalations(org)) == [("dm", ADMIN), ("dm", BRAVO_LEAD)]


async def test_with_nobody_to_tell_the_slot_waits_then_the_admin_channel_is_told(
    org: Deps, publish: Publish, clock: FixedClock
) -> None:
    await publish(teams=("alpha",))
    await _deactivate(org, ALPHA_LEAD, MANAGER, ADMIN)
    clock.set(DEADLINE + timedelta(minutes=1))
    assert (await run_notice_tick(org)).escalated == 0
    async with org.sessions() as session:
        assert await runs(session, job_key="notice-escalate") == []  # not spent on no one
    with_channel = dataclasses.replace(org, settings=org.settings.model_copy(update={"admin_channel": "C0ADMIN01"}))
    clock.set(DEADLINE + timedelta(minutes=2))
    assert (await run_notice_tick(with_channel)).escalated == 1
    assert (await run_notice_tick(with_channel)).escalated == 0
    assert await _escalations(org) == [("post", "C0ADMIN01")]


async def test_notices_drop_off_the_huddle_list_after_follow_up_ends(
    org: Deps, publish: Publish, clock: FixedClock, team_ids: dict[str, int]
) -> None:
    published = clock.now()
    dated = await publish(teams=("alpha",), title="Dated")
    undated = await publish(teams=("alpha",), title="Undated", deadline=None)

    async def listed() -> list[int]:
        async with org.sessions() as session:
            return [d.notice_id for d in await awaiting_for_team(session, team_ids["alpha"], clock.now())]

    assert await listed() == [dated, undated]
    clock.set(DEADLINE + ESCALATION_GRACE)
    assert await listed() == [dated, undated]
    clock.set(DEADLINE + ESCALATION_GRACE + timedelta(minutes=1))
    assert await listed() == [undated]
    assert (await run_notice_tick(org)).notices == [undated]  # still within its no-deadline horizon
    async with org.sessions() as session:  # what the per-minute tick reads: the finished notice is not among them
        assert [v.notice_id for v in await current_versions(session, followed_at=clock.now())] == [undated]
    clock.set(published + NO_DEADLINE_HORIZON + ESCALATION_GRACE + timedelta(minutes=1))
    assert await listed() == []
