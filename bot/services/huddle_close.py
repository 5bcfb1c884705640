"""The end of a huddle: one reminder DM to expected agents who have not checked in, then, at the close, the
digest as a reply in the prompt's thread (and a copy for the ops manager) and the prompt closed in place.

Each step is claimed by a conditional UPDATE of the huddle row, in the transaction that queues its messages.
Each huddle is its own transaction, and a failure is logged and retried on the next tick without holding up
any other team's reminders or digests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.huddle import render_reminder
from bot.blocks.huddle_digest import Attendee, DigestView, render_digest
from bot.deps import Deps
from bot.domain.huddle import Tally, expected_agents, mood_stats, tally
from bot.domain.huddle_settings import SECOND
from bot.services.huddles import label_of, queue_prompt_update, team_settings
from bot.store import huddles, outbox
from bot.store.huddle_people import Agent, checkins, roster, segments
from bot.store.huddle_tables import CheckIn, Huddle
from bot.store.leave import on_leave
from bot.store.tables import Member, Team

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Expected:
    agents: list[Agent]
    on_leave: set[int]
    expected: frozenset[int]
    scheduled: bool  # the team has schedules that day (so "not on shift" means something)


async def expected_for(session: AsyncSession, row: Huddle, team: Team) -> Expected:
    """Who should check in to ``row``: those on shift when the team has schedules for the day; else the roster
    minus leave — except at a second shift, where nothing says who works it (see domain.huddle)."""
    agents = await roster(session, row.team_id)
    ids = [a.id for a in agents]
    away = await on_leave(session, ids, row.day)
    tz = ZoneInfo(team.timezone)
    day_start = datetime.combine(row.day, time(0), tz)
    day_end = datetime.combine(row.day + timedelta(days=1), time(0), tz)
    scheduled = await segments(session, ids, day_start, day_end)
    expected = expected_agents(
        ids, away, scheduled or None, row.posted_at, row.closes_at, whole_roster=row.seq != SECOND
    )
    return Expected(agents, away, expected, bool(scheduled))


async def send_reminders(deps: Deps, now: datetime) -> int:
    """DM expected agents who have not checked in, once per huddle; how many DMs were queued."""
    async with deps.sessions() as session:
        due = await huddles.due_reminders(session, now)
    queued = 0
    for huddle_id in due:
        try:
            queued += await _remind(deps, huddle_id, now)
        except Exception:  # one huddle's failure must not keep the others' reminders back
            log.exception("huddle %s: reminders failed; retrying on the next tick", huddle_id)
    if queued:
        deps.outbox_ready.send()
    return queued


async def _remind(deps: Deps, huddle_id: int, now: datetime) -> int:
    queued = 0
    async with deps.sessions() as session:
        # The claim's UPDATE waits for check-ins in flight (they share-lock the huddle row), so the check-ins
        # read next are complete; a check-in after this commits withdraws its reminder (huddle_checkin).
        if not await huddles.claim_reminder(session, huddle_id, now):
            return 0
        row = await session.get(Huddle, huddle_id)
        assert row is not None
        team = await session.get(Team, row.team_id)
        assert team is not None
        who = await expected_for(session, row, team)
        done = {c.member_id for c in await checkins(session, [huddle_id])}
        closes = f"{row.closes_at.astimezone(ZoneInfo(team.timezone)):%H:%M}"
        for agent in who.agents:
            if agent.id not in who.expected or agent.id in done or not agent.slack_user_id:
                continue
            queued += await outbox.enqueue(
                session,
                key=reminder_key(row.message_key, agent.id),
                channel=agent.slack_user_id,
                kind="dm",
                payload=render_reminder(huddle_id, team.name, team.channel_id or "", closes),
                now=now,
            )
        await session.commit()
    return queued


def reminder_key(message_key: str, member_id: int) -> str:
    return f"{message_key}:remind:{member_id}"


async def close_due(deps: Deps, now: datetime) -> list[int]:
    """Close every huddle whose check-in window has ended: store its tally, queue the digest; the closed ids."""
    async with deps.sessions() as session:
        due = await huddles.due_closes(session, now)
    closed = []
    for huddle_id in due:
        try:
            async with deps.sessions() as session:
                if not await huddles.claim_close(session, huddle_id, now):
                    continue  # another run (or replica) closed it
                await _digest(deps, session, huddle_id, now)
                await session.commit()
        except Exception:  # one huddle's failure must not keep the other teams' digests back
            log.exception("huddle %s: close failed; retrying on the next tick", huddle_id)
            continue
        closed.append(huddle_id)
    if closed:
        deps.outbox_ready.send()
    return closed


async def _digest(deps: Deps, session: AsyncSession, huddle_id: int, now: datetime) -> None:
    row = await session.get(Huddle, huddle_id)
    assert row is not None
    await session.refresh(row)
    team = await session.get(Team, row.team_id)
    assert team is not None
    who = await expected_for(session, row, team)
    entries = await checkins(session, [huddle_id])
    figures = tally([a.id for a in who.agents], who.expected, {c.member_id: c.late for c in entries}, who.on_leave)
    row.tally = figures.as_json()
    plan = await huddles.get_day(session, row.team_id, row.day)
    focus = plan.focus if plan else None
    view = await _digest_view(session, team, row, figures, entries, who, focus)
    prompt = await outbox.get(session, row.message_key)
    channel = prompt.channel if prompt else team.channel_id or ""
    await outbox.enqueue(
        session,
        key=f"{row.message_key}:digest",
        channel=channel,
        kind="reply",
        update_of=row.message_key,
        payload=render_digest(view),
        now=now,
    )
    managers = deps.settings.managers_channel
    if managers:
        await outbox.enqueue(
            session,
            key=f"{row.message_key}:digest:ops",
            channel=managers,
            payload=render_digest(view, for_managers=True),
            now=now,
        )
    await queue_prompt_update(deps, session, row, focus=focus, closed=True, present=len(figures.present))


async def _digest_view(
    session: AsyncSession,
    team: Team,
    row: Huddle,
    figures: Tally,
    entries: list[CheckIn],
    who: Expected,
    focus: str | None,
) -> DigestView:
    names = {a.id: a.name for a in who.agents}
    missing = {c.member_id for c in entries} - set(names)
    for member_id in missing:  # someone who left the roster since checking in
        member = await session.get(Member, member_id)
        names[member_id] = member.name if member else "?"
    anonymous = team_settings(team).anonymous_mood
    tz = ZoneInfo(team.timezone)
    off_shift = set(names) - figures.expected - figures.present - who.on_leave if who.scheduled else set()
    by_name = sorted(entries, key=lambda c: names.get(c.member_id, "?"))
    return DigestView(
        team_name=team.name,
        day=f"{row.day:%a %d %b}",
        label=label_of(row.seq),
        closed_at=f"{row.closes_at.astimezone(tz):%H:%M}",  # check-ins stopped then, even if this runs later
        late_after=f"{row.late_at.astimezone(tz):%H:%M}",
        focus=focus,
        present=tuple(Attendee(names[c.member_id], c.late, None if anonymous else c.mood) for c in by_name),
        absent=tuple(sorted(names[m] for m in figures.absent)),
        on_leave=tuple(sorted(names[m] for m in figures.on_leave)),
        not_scheduled=tuple(sorted(names[m] for m in off_shift)),
        expected=len(figures.expected),
        attended=len(figures.expected & figures.present),
        blockers=tuple((names[c.member_id], c.blockers) for c in by_name if c.blockers),
        notes=tuple((names[c.member_id], c.note) for c in by_name if c.note),
        mood=mood_stats(c.mood for c in entries),
        anonymous=anonymous,
    )
