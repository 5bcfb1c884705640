"""Scheduled KPI snapshots: claim the team's slot, render today's scorecard, queue it for the team channel."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.blocks.kpi import render_scorecard
from bot.deps import Deps
from bot.domain.models import TeamSchedule
from bot.domain.periods import PeriodKind
from bot.domain.schedule import SlotDecision, decide, latest_slot, parse_calendar, parse_hhmm, slot_name
from bot.services.kpi import team_scorecard
from bot.store import jobruns, outbox

log = logging.getLogger(__name__)
JOB = "kpi-snapshot"


async def post_team_snapshot(deps: Deps, schedule: TeamSchedule, at: str) -> SlotDecision:
    """Post the ``at`` (local "HH:MM") snapshot for the team's latest due slot, exactly once.

    Safe to call any number of times, from any replica, late or early: the slot row decides.
    """
    team = schedule.team
    cal = parse_calendar(team.timezone, schedule.working_days, schedule.holidays)
    now = deps.clock.now()
    slot = latest_slot(now, parse_hhmm(at), cal)
    decision = decide(slot, now, timedelta(seconds=deps.settings.misfire_grace_seconds))
    if decision is SlotDecision.NOT_DUE or slot is None:
        return decision
    if team.channel_id is None:
        log.info("team %s has no channel; snapshot skipped", team.id)
        return SlotDecision.NOT_DUE
    name, subject = slot_name(slot), f"team:{team.id}"
    async with deps.sessions() as session:
        if decision is SlotDecision.MISSED:
            if await jobruns.claim(
                session, job_key=JOB, subject=subject, slot=name, scheduled_for=slot, status="missed"
            ):
                log.warning("snapshot for team %s at %s missed by %s; not posted late", team.id, name, now - slot)
            await session.commit()
            return decision
        if not await jobruns.claim(session, job_key=JOB, subject=subject, slot=name, scheduled_for=slot):
            return SlotDecision.NOT_DUE  # another run (or replica) already has this slot
        card = await team_scorecard(deps, session, team, PeriodKind.TODAY)
        await outbox.enqueue(
            session,
            key=f"{JOB}:{team.id}:{name}",
            channel=team.channel_id,
            payload=render_scorecard(card),
            now=deps.clock.now(),
        )
        await jobruns.finish(session, job_key=JOB, subject=subject, slot=name, status="done")
        await session.commit()
    deps.outbox_ready.send()
    return decision
