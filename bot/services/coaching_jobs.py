"""Scheduled coaching work: the follow-up DM to the agent's leader (with the coaching effect on KPIs) and the
daily retention purge. A follow-up is sent once per session (its conditional ``followed_up_at``), each session
in its own transaction; the purge claims its day in job_run. Every message is keyed, so restarts, catch-up and
a second replica never send or purge twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.blocks.coaching_due import render_follow_up
from bot.deps import Deps
from bot.domain.access import Role
from bot.domain.coaching import parse_coaching_settings, retention_cutoff
from bot.domain.coaching_effect import coaching_effect, effect_window
from bot.domain.models import MemberInfo
from bot.domain.schedule import parse_hhmm
from bot.services.coaching_access import actor_by_id, may_manage, teams_led
from bot.services.coaching_views import action_view, kpi_evidence, names
from bot.services.pip import plan_dm_key
from bot.store import audit, coaching, coaching_plans, jobruns, org, outbox
from bot.store.coaching_tables import CoachingSession, ImprovementPlan, ImprovementPlanVersion
from bot.store.tables import Member, Outbox, Team, TeamOversight, pk

log = logging.getLogger(__name__)
RETENTION_JOB = "coaching-retention"
RETENTION_TIME = "03:15"  # site-local: a quiet hour


def follow_up_key(session_id: int, recipient_id: int) -> str:
    return f"{coaching.FOLLOW_UP_PREFIX}{session_id}:{recipient_id}"


def _working(team: Team, local: datetime) -> bool:
    days = [d.strip() for d in team.working_days.split(",") if d.strip()]
    return local.strftime("%a").lower() in days and local.date().isoformat() not in set(team.holidays)


async def run_coaching_follow_ups(deps: Deps) -> int:
    """For each team whose follow-up time has passed today (a working day), DM the leader of each session whose
    follow-up date has come. Returns DMs queued.

    Runs on an interval (and at start-up): a follow-up that becomes due later in the day, or was missed while
    the bot was down, goes out on the next run (the next working day at the latest), worded as late.
    """
    now = deps.clock.now()
    queued = 0
    async with deps.sessions() as session:
        teams = list((await session.execute(select(Team).order_by(col(Team.id)))).scalars())
    for team in teams:
        try:
            at = parse_hhmm(parse_coaching_settings(team.coaching).follow_up_time)
        except ValueError as exc:
            log.error("team %s has invalid coaching settings (%s); follow-ups at the default time", team.id, exc)
            at = parse_hhmm("09:00")
        local = now.astimezone(ZoneInfo(team.timezone))
        if not _working(team, local) or local.time() < at:
            continue
        async with deps.sessions() as session:
            due = [pk(row) for row in await coaching.follow_ups_due(session, pk(team), local.date())]
        for session_id in due:
            try:  # one session's failure is its own: the others go out, and it is tried again next run
                queued += await _follow_up(deps, session_id, team, now)
            except Exception:
                log.exception("follow-up of coaching session %s failed; it is retried on the next run", session_id)
    if queued:
        deps.outbox_ready.send()
    return queued


async def _recipients(session: AsyncSession, row: CoachingSession, agent: MemberInfo) -> tuple[list[Member], bool]:
    """Who gets the follow-up, and whether that is the session's author: the author while they still lead the
    agent (active, on Slack); else whoever leads the agent now (their team's leads; for a lead, the managers)."""
    author = await actor_by_id(session, row.lead_id)
    author_row = await session.get(Member, row.lead_id)
    if author and author_row and author_row.slack_user_id and await may_manage(session, author, agent):
        return [author_row], True
    teams = {agent.team_id} if agent.team_id is not None else set()
    if agent.role is Role.LEAD:
        teams |= await teams_led(session, agent.id)
    query = (
        select(Member)
        .join(TeamOversight, col(TeamOversight.member_id) == Member.id)
        .where(col(TeamOversight.team_id).in_(teams), col(Member.active), col(Member.slack_user_id).is_not(None))
        .order_by(col(Member.id))
        .distinct()
    )
    leaders = []
    for candidate in (await session.execute(query)).scalars():
        actor = await actor_by_id(session, pk(candidate))
        if actor is not None and await may_manage(session, actor, agent):
            leaders.append(candidate)
    leads = [m for m in leaders if m.role == Role.LEAD.value]
    return leads or leaders, False


async def _follow_up(deps: Deps, session_id: int, team: Team, now: datetime) -> int:
    """One session's follow-up, in its own transaction: marked once, DMs queued, audited (ids only)."""
    async with deps.sessions() as session:
        row = await coaching.get_session(session, session_id)
        if row is None or row.followed_up_at is not None or row.follow_up_on is None:
            return 0
        agent = await org.member_by_id(session, row.member_id)
        recipients, is_author = await _recipients(session, row, agent) if agent else ([], False)
        if not await coaching.mark_followed_up(session, session_id, now):
            return 0  # another run or replica got there first
        about = f"member:{row.member_id}"
        if agent is None or not recipients:
            log.info("follow-up of session %s skipped: nobody leads the agent on Slack now", session_id)
            audit.record(
                session,
                actor="job",
                action="coaching.follow_up.skipped",
                subject=about,
                session_id=session_id,
                reason="no current leader on Slack",
            )
            await session.commit()
            return 0
        today = now.astimezone(ZoneInfo(team.timezone)).date()
        window = effect_window(row.held_on, today)
        since = await kpi_evidence(session, row.member_id, row.team_id, window) if window else {}
        items = await coaching.open_items(session, [row.member_id])
        name = (await names(session, [row.member_id])).get(row.member_id, "your agent")
        effect = coaching_effect(row.evidence, since)
        payload = render_follow_up(
            name,
            row.kind,
            row.held_on,
            effect,
            [action_view(i) for i in items],
            due_on=row.follow_up_on,
            today=today,
            author=is_author,
        )
        for leader in recipients:
            assert leader.slack_user_id is not None
            key = follow_up_key(session_id, pk(leader))
            await outbox.enqueue(session, key=key, channel=leader.slack_user_id, kind="dm", payload=payload, now=now)
        recipient_ids = [pk(m) for m in recipients]
        audit.record(
            session,
            actor="job",
            action="coaching.follow_up.sent",
            subject=about,
            session_id=session_id,
            recipients=recipient_ids,
        )
        await session.commit()
    return len(recipients)


@dataclass(frozen=True, slots=True)
class Purged:
    sessions: int = 0
    plans: int = 0
    messages: int = 0


async def run_coaching_retention(deps: Deps) -> Purged | None:
    """Once a day (site-local, after 03:15): delete coaching records older than the retention period, with the
    queued copies of their messages. None when retention is off or today's purge already ran."""
    months = deps.settings.coaching_retention_months
    now = deps.clock.now()
    local = now.astimezone(ZoneInfo(deps.settings.default_timezone))
    cutoff = retention_cutoff(local.date(), months)
    if cutoff is None or local.time() < parse_hhmm(RETENTION_TIME):
        return None
    async with deps.sessions() as session:
        slot = local.date().isoformat()
        if not await jobruns.claim(session, job_key=RETENTION_JOB, subject="site", slot=slot, scheduled_for=now):
            return None
        result = await purge_before(session, cutoff)
        await coaching.forget_submissions(session, before=now - timedelta(days=1))  # replays come within minutes
        audit.record(
            session,
            actor="job",
            action="coaching.retention.purge",
            subject="site",
            cutoff=cutoff.isoformat(),
            months=months,
            sessions=result.sessions,
            plans=result.plans,
            messages=result.messages,
        )
        await jobruns.finish(session, job_key=RETENTION_JOB, subject="site", slot=slot, status="done")
        await session.commit()
    log.info("coaching retention: purged %d sessions and %d plans before %s", result.sessions, result.plans, cutoff)
    return result


async def purge_before(session: AsyncSession, cutoff: date) -> Purged:
    """Delete coaching records dated before ``cutoff`` and the outbox copies of their messages. Caller commits."""
    versions = await _plan_versions_before(session, cutoff)
    plan_ids = await coaching_plans.purge_plans_before(session, cutoff)
    session_ids = await coaching.purge_sessions_before(session, cutoff)
    keys = [f"coaching:session:{i}:dm" for i in session_ids] + await coaching.follow_up_keys(session, session_ids)
    keys += [plan_dm_key(p, v) for p, v in versions if p in set(plan_ids)]
    messages = 0
    if keys:
        gone = await session.execute(
            delete(Outbox).where(col(Outbox.idempotency_key).in_(keys)).returning(col(Outbox.id))
        )
        messages = len(gone.all())
    return Purged(len(session_ids), len(plan_ids), messages)


async def _plan_versions_before(session: AsyncSession, cutoff: date) -> list[tuple[int, int]]:
    query = (
        select(col(ImprovementPlanVersion.plan_id), col(ImprovementPlanVersion.version))
        .join(ImprovementPlan, col(ImprovementPlan.id) == ImprovementPlanVersion.plan_id)
        .where(col(ImprovementPlan.end_on) < cutoff)
    )
    return [(p, v) for p, v in (await session.execute(query)).all()]
