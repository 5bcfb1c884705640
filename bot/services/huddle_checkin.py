"""Checking in: the button opens the modal (for the team's agents, while the huddle is open), the modal's
answers are saved once per agent and huddle (edits replace them), and a reply in the prompt's thread counts.

Every write is conditional on the huddle still being open (store.huddle_people), so nothing lands after the
close has counted; a check-in also withdraws the agent's reminder DM if it is still waiting to be sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.huddle import CheckInDraft, CheckInForm
from bot.deps import Deps
from bot.domain.access import UNKNOWN_USER, Role
from bot.domain.errors import NotAllowed, UserFacingError
from bot.services.huddle_close import reminder_key
from bot.store import huddles, outbox
from bot.store.huddle_people import add_checkin, checkin_of, edit_checkin
from bot.store.huddle_tables import Huddle
from bot.store.org import member_by
from bot.store.tables import Team

log = logging.getLogger(__name__)
# Slack retries an event it thinks was lost after about 1 and 5 minutes; a reply's own time is trusted this far
# back (a retry after the close tick still counts as on time if it was written in time), no further.
MAX_EVENT_DELAY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class _Target:
    huddle: Huddle
    team: Team
    member_id: int


async def _load(deps: Deps, session: AsyncSession, user_id: str, huddle_id: int) -> _Target:
    member = await member_by(session, slack_user_id=user_id)
    if member is None:
        raise UserFacingError(UNKNOWN_USER)
    row = await session.get(Huddle, huddle_id)
    if row is None:
        raise UserFacingError("That huddle no longer exists.")
    team = await session.get(Team, row.team_id)
    assert team is not None
    if member.team_id != row.team_id or member.role is not Role.AGENT:
        raise NotAllowed(f"This huddle is for *{team.name}*'s agents, and you're not on its roster.")
    if row.status == "cancelled":
        raise UserFacingError("This huddle was called off: no check-ins needed.")
    if row.status != "open" or deps.clock.now() >= row.closes_at:
        raise UserFacingError(_closed(row, team))
    return _Target(row, team, member.id)


def _closed(row: Huddle, team: Team) -> str:
    return f"Check-ins for this huddle closed at {row.closes_at.astimezone(ZoneInfo(team.timezone)):%H:%M}."


async def open_checkin(deps: Deps, *, user_id: str, huddle_id: int) -> CheckInDraft:
    """The modal's content for this agent, or a polite refusal (another team, closed, unknown)."""
    async with deps.sessions() as session:
        t = await _load(deps, session, user_id, huddle_id)
        mine = await checkin_of(session, huddle_id, t.member_id)
        plan = await huddles.get_day(session, t.team.id or 0, t.huddle.day)
    return CheckInDraft(
        huddle_id=huddle_id,
        team_name=t.team.name,
        day=f"{t.huddle.day:%a %d %b}",
        focus=plan.focus if plan else None,
        mood=mine.mood if mine else None,
        blockers=mine.blockers if mine else None,
        note=mine.note if mine else None,
        editing=mine is not None,
    )


async def save_checkin(deps: Deps, *, user_id: str, form: CheckInForm) -> bool:
    """Record the modal's answers; True for a first check-in, False for an edit. Submitting twice (or a
    replayed submission) leaves one check-in."""
    now = deps.clock.now()
    async with deps.sessions() as session:
        t = await _load(deps, session, user_id, form.huddle_id)
        h, m = form.huddle_id, t.member_id
        first = await add_checkin(
            session,
            huddle_id=h,
            member_id=m,
            via="modal",
            late=now > t.huddle.late_at,
            now=now,
            mood=form.mood,
            blockers=form.blockers,
            note=form.note,
        )
        if not first and not await edit_checkin(
            session, huddle_id=h, member_id=m, mood=form.mood, blockers=form.blockers, note=form.note, now=now
        ):
            raise UserFacingError(_closed(t.huddle, t.team))  # it closed (or was called off) a moment ago
        if first:
            await outbox.cancel_pending(session, reminder_key(t.huddle.message_key, m))
        await session.commit()
    return first


def message_time(ts: str | None, now: datetime) -> datetime:
    """When a Slack message was written, from its ts (seconds since the epoch), never later than ``now``; ``now``
    for an unreadable ts or one older than MAX_EVENT_DELAY (a stale or odd delivery is judged on arrival)."""
    try:
        written = datetime.fromtimestamp(float(ts or ""), UTC)
    except (ValueError, OverflowError, OSError):
        return now
    return now if now - written > MAX_EVENT_DELAY else min(now, written)


async def record_thread_reply(deps: Deps, *, channel: str, thread_ts: str, user_id: str, ts: str | None = None) -> bool:
    """A reply in an open huddle's thread by one of its team's agents counts as their check-in (attendance
    only; the text is not kept). It is judged by when it was written (``ts``), so a delivery Slack retried
    after the close still counts while the huddle has not been tallied. True when it created a check-in."""
    now = deps.clock.now()
    at = message_time(ts, now)
    async with deps.sessions() as session:
        row = await huddles.open_huddle_by_thread(session, channel, thread_ts)
        if row is None or row.id is None or at >= row.closes_at:
            return False
        member = await member_by(session, slack_user_id=user_id)
        if member is None or member.team_id != row.team_id or member.role is not Role.AGENT:
            return False
        added = await add_checkin(
            session, huddle_id=row.id, member_id=member.id, via="thread", late=at > row.late_at, now=at
        )
        if added:
            await outbox.cancel_pending(session, reminder_key(row.message_key, member.id))
        await session.commit()
    return added
