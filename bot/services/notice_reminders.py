"""Notice reminders and escalation: the per-minute tick, and the lead's manual ``/notice remind N``.

Every reminder is a ``notice_reminder`` row inserted if absent (unique per version, member and kind) in the
same transaction as its DM's outbox row, whose key is deterministic: ticks, restarts and replicas send each
reminder once. The escalation to a team's lead claims a job slot per (version, team, deadline); a team with no
lead or manager escalates to the admins, else to the admin channel; with nobody to tell, the slot stays
unclaimed (and is tried again next tick, within the grace) rather than being spent on no one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.blocks.notices import EscalationView, render_escalation_dm, render_reminder_dm
from bot.deps import Deps
from bot.domain.notice_access import managed_teams
from bot.domain.notice_schedule import (
    SHIFT_GRACE,
    SHIFT_LOOKBACK,
    due_reminders,
    escalation_due,
    follow_up_ends,
    latest_shift_start,
    manual_kind,
    reminders_possible,
)
from bot.domain.notices import AudienceMember, VersionInfo
from bot.domain.schedule import slot_name
from bot.services.notice_posts import notice_view
from bot.services.notices import load_actor
from bot.store import audit, jobruns, notice_acks, notice_reminders, notices, outbox
from bot.store.leave import on_leave
from bot.store.tables import Member, Team, TeamOversight, pk

log = logging.getLogger(__name__)
ESCALATE_JOB = "notice-escalate"
_WARNED: set[tuple[int, int]] = set()  # (notice, team) with nobody to escalate to, logged once per process


@dataclass
class TickResult:
    reminded: int = 0
    escalated: int = 0  # teams whose lead was told
    skipped_on_leave: int = 0
    notices: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Audience:
    base: VersionInfo  # the material version acknowledgements are recorded against
    teams: dict[int, Team]
    outstanding: list[AudienceMember]
    away: set[int]  # outstanding members on leave today (their team's local date)
    size: dict[int, int]  # team id → active agents


async def _audience(session: AsyncSession, current: VersionInfo, team_ids: list[int], now: datetime) -> _Audience:
    base = await notices.version(session, current.notice_id, current.ack_number)
    assert base is not None
    rows = await session.execute(select(Team).where(col(Team.id).in_(team_ids)))
    teams = {pk(t): t for t in rows.scalars()}
    members = await notice_acks.audience_members(session, teams)
    acked = await notice_acks.acks_for(session, base.id)
    outstanding = [m for m in members if m.id not in acked]
    away: set[int] = set()
    for team_id, team in teams.items():
        ids = [m.id for m in outstanding if m.team_id == team_id]
        away |= await on_leave(session, ids, now.astimezone(ZoneInfo(team.timezone)).date())
    size: dict[int, int] = defaultdict(int)
    for m in members:
        size[m.team_id] += 1
    return _Audience(base, teams, outstanding, away, dict(size))


async def run_notice_tick(deps: Deps) -> TickResult:
    """Send the reminders that are due and escalate deadlines that passed; safe to run any number of times."""
    now = deps.clock.now()
    result = TickResult()
    async with deps.sessions() as session:
        versions = await notices.current_versions(session, followed_at=now)
        published = await notices.baseline_published(session, versions)
        for current in versions:
            base_created = published[current.notice_id]
            if now > follow_up_ends(current.deadline, base_created):
                continue
            remind = reminders_possible(current.deadline, base_created, now)
            if not remind and not escalation_due(current.deadline, now, base_created):
                continue
            team_ids = await notices.audience_team_ids(session, current.notice_id)
            audience = await _audience(session, current, team_ids, now)
            if not audience.outstanding:
                continue
            result.notices.append(current.notice_id)
            if remind:
                await _remind_due(session, current, audience, now, result)
            else:
                await _escalate(session, current, audience, now, result, deps.settings.admin_channel)
        await session.commit()
    if result.reminded or result.escalated:
        deps.outbox_ready.send()
    return result


async def _remind_due(
    session: AsyncSession, current: VersionInfo, a: _Audience, now: datetime, result: TickResult
) -> None:
    published = a.base.created_at
    start = max(published, now - SHIFT_GRACE) - SHIFT_LOOKBACK
    pieces = await notice_reminders.schedule_pieces(session, [m.id for m in a.outstanding], start=start, end=now)
    sent = await notice_reminders.reminder_kinds(session, a.base.id)
    for m in a.outstanding:
        shift = latest_shift_start(pieces.get(m.id, []), after=published, upto=now)
        due = due_reminders(
            published_at=published, deadline=current.deadline, now=now, shift_start=shift, sent=sent.get(m.id, ())
        )
        if not due or not m.slack_user_id:
            continue
        if m.id in a.away:
            result.skipped_on_leave += 1
            continue
        if await _send(session, current, a, m, due, now):
            result.reminded += 1


async def _send(
    session: AsyncSession, current: VersionInfo, a: _Audience, m: AudienceMember, kinds: list[str], now: datetime
) -> bool:
    """Record each kind (insert-if-absent) and DM once for all of them; True when this call sent it."""
    fresh = [
        kind
        for kind in kinds
        if await notice_reminders.record_reminder(
            session, version_id=a.base.id, member_id=m.id, team_id=m.team_id, kind=kind, now=now
        )
    ]
    if not fresh:
        return False
    view = notice_view(current, a.teams[m.team_id].timezone)
    manual = kinds[-1].startswith("manual:")
    await outbox.enqueue(
        session,
        key=f"notice:{current.notice_id}:v{a.base.number}:remind:{m.id}:{kinds[-1]}",
        channel=m.slack_user_id or "",
        kind="dm",
        payload=render_reminder_dm(view, manual=manual),
        now=now,
    )
    return True


async def _recipients(session: AsyncSession, team_id: int, admin_channel: str | None) -> list[tuple[str, str]]:
    """(key part, channel) of who is told about the team's outstanding names: its leads; else its managers;
    else the admins; else the admin channel (``RHYTHM_ADMIN_CHANNEL``); else nobody."""
    active = col(Member.active).is_(True)
    oversight = select(Member).join(TeamOversight, col(TeamOversight.member_id) == col(Member.id))
    for query in (
        oversight.where(col(TeamOversight.team_id) == team_id, col(Member.role) == "lead", active),
        oversight.where(col(TeamOversight.team_id) == team_id, col(Member.role) == "manager", active),
        select(Member).where(col(Member.role) == "admin", active),
    ):
        people = [m for m in (await session.execute(query.order_by(col(Member.id)))).scalars() if m.slack_user_id]
        if people:
            return [(str(pk(m)), m.slack_user_id or "") for m in people]
    return [("admin-channel", admin_channel)] if admin_channel else []


async def _escalate(
    session: AsyncSession,
    current: VersionInfo,
    a: _Audience,
    now: datetime,
    result: TickResult,
    admin_channel: str | None,
) -> None:
    """Once per team, version and deadline: the outstanding names go to the team's lead."""
    assert current.deadline is not None
    for team_id, team in a.teams.items():
        waiting = [m for m in a.outstanding if m.team_id == team_id]
        subject, slot = f"notice-version:{a.base.id}:team:{team_id}", slot_name(current.deadline)
        if not waiting:
            continue
        leads = await _recipients(session, team_id, admin_channel)
        if not leads:
            if (current.notice_id, team_id) not in _WARNED:
                _WARNED.add((current.notice_id, team_id))
                log.warning(
                    "notice %s: nobody to escalate team %s to (no lead, manager, admin or admin channel)",
                    current.notice_id,
                    team_id,
                )
            continue
        if not await jobruns.claim(
            session, job_key=ESCALATE_JOB, subject=subject, slot=slot, scheduled_for=current.deadline
        ):
            continue
        names = tuple(f"{m.name} (on leave)" if m.id in a.away else m.name for m in waiting)
        view = EscalationView(
            current.notice_id,
            current.number,
            current.title,
            team.name,
            current.deadline,
            team.timezone,
            names,
            a.size.get(team_id, 0),
        )
        for who, channel in leads:
            await outbox.enqueue(
                session,
                key=f"notice:{current.notice_id}:v{a.base.number}:escalate:{team_id}:{who}:{slot}",
                channel=channel,
                kind="post" if who == "admin-channel" else "dm",
                payload=render_escalation_dm(view),
                now=now,
            )
        detail = f"{len(waiting)} outstanding; told {len(leads)}"
        await jobruns.finish(session, job_key=ESCALATE_JOB, subject=subject, slot=slot, status="done", detail=detail)
        result.escalated += 1


async def remind_now(deps: Deps, *, user_id: str, notice_id: int) -> str:
    """``/notice remind N``: DM everyone outstanding in the caller's teams (not on leave); the answer text."""
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor = await load_actor(session, user_id)
        current = await notices.current_version(session, notice_id)
        if current is None:
            return f"There's no notice #{notice_id} (see `/notice list`)."
        team_ids = managed_teams(actor, notice_id, await notices.audience_team_ids(session, notice_id), what="remind")
        a = await _audience(session, current, team_ids, now)
        if not a.outstanding:
            return f"Everyone has acknowledged notice #{notice_id} — nobody to remind. 🎉"
        kind = manual_kind(now)
        sent = away = unreachable = 0
        for m in a.outstanding:
            if m.id in a.away:
                away += 1
            elif not m.slack_user_id:
                unreachable += 1
            elif await _send(session, current, a, m, [kind], now):
                sent += 1
        audit.record(
            session, actor=f"slack:{user_id}", action="notice.remind", subject=f"notice:{notice_id}", sent=sent
        )
        await session.commit()
    deps.outbox_ready.send()
    who = "person who hasn't" if sent == 1 else "people who haven't"
    parts = [f"Reminded {sent} {who} acknowledged notice #{notice_id}."]
    if sent == 0 and away + unreachable < len(a.outstanding):
        parts = [f"They were reminded a moment ago; nobody was reminded twice for notice #{notice_id}."]
    if away:
        parts.append(f"{away} on leave {'was' if away == 1 else 'were'} left alone.")
    if unreachable:
        parts.append(f"{unreachable} {'has' if unreachable == 1 else 'have'} no Slack account on the roster.")
    return " ".join(parts)
