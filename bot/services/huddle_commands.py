"""`/huddle`: focus, now, skip/unskip, leave and report — who may, for which team, and the answer they get."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.blocks.kit import escape
from bot.blocks.kpi import render_text
from bot.deps import Deps
from bot.domain.access import UNKNOWN_USER, Actor, Role
from bot.domain.errors import NotAllowed, UserFacingError
from bot.domain.huddle_commands import HUDDLE_HELP, HuddleAction, HuddleCommand, check_focus, parse_huddle_command
from bot.domain.huddle_settings import MAIN, SECOND, HuddleSlot, day_slots
from bot.domain.schedule import parse_calendar, slot_name
from bot.services.huddle_close import reminder_key
from bot.services.huddle_report import huddle_report
from bot.services.huddles import JOB, post_adhoc, post_due_prompts, queue_prompt_update, team_settings
from bot.store import audit, huddles, org, outbox
from bot.store.huddle_people import roster
from bot.store.huddle_tables import Huddle
from bot.store.leave import add_leave
from bot.store.tables import Team

NOT_A_LEAD = "`/huddle {action}` is for team leaders and managers."


def _reply(text: str) -> dict[str, Any]:
    return {**render_text(text), "response_type": "ephemeral"}


async def answer_huddle_command(deps: Deps, *, user_id: str, channel_id: str, text: str) -> dict[str, Any]:
    """The ephemeral reply to ``/huddle TEXT`` from ``user_id`` in ``channel_id``."""
    cmd = parse_huddle_command(text)
    if cmd.action is HuddleAction.HELP:
        return _reply(HUDDLE_HELP)
    async with deps.sessions() as session:
        actor = await org.load_actor(session, slack_user_id=user_id)
    if actor is None:
        raise UserFacingError(UNKNOWN_USER)
    if actor.role is Role.AGENT:
        raise NotAllowed(NOT_A_LEAD.format(action=cmd.action.value))
    if cmd.action is HuddleAction.LEAVE:
        return _reply(await _leave(deps, actor, cmd, by=f"slack:{user_id}"))
    key = cmd.report.team_key if cmd.report else cmd.team_key
    focus = cmd.text or ""
    async with deps.sessions() as session:
        if cmd.action is HuddleAction.FOCUS and key is not None and not await _team_exists(session, key):
            key, focus = None, check_focus(cmd.whole_text or "")  # the first word was part of the focus
        team = await _team(session, actor, key, channel_id)
    if cmd.action is HuddleAction.REPORT:
        assert cmd.report is not None
        return {**await huddle_report(deps, team, cmd.report), "response_type": "ephemeral"}
    if cmd.action is HuddleAction.FOCUS:
        return _reply(await _focus(deps, actor, team, focus, by=f"slack:{user_id}"))
    if cmd.action is HuddleAction.NOW:
        _, closes = await post_adhoc(deps, team, started_by=actor.member_id)
        return _reply(f"Posted a {team.name} huddle prompt in <#{team.channel_id}>; check-ins close at {closes:%H:%M}.")
    return _reply(await _skip(deps, actor, team, cmd, by=f"slack:{user_id}"))


async def _team_exists(session: AsyncSession, key: str) -> bool:
    return (await session.execute(select(col(Team.id)).where(col(Team.key) == key))).first() is not None


async def _team(session: AsyncSession, actor: Actor, key: str | None, channel_id: str) -> Team:
    """The named team, else the team whose channel this is, else the one team the actor looks after."""
    if key is not None:
        team = (await session.execute(select(Team).where(col(Team.key) == key))).scalar_one_or_none()
        if team is None:
            raise UserFacingError(f"I don't know a team called `{key}`.")
    else:
        team = (await session.execute(select(Team).where(col(Team.channel_id) == channel_id))).scalars().first()
        if team is None:
            ids = sorted(actor.oversees) or ([actor.team_id] if actor.team_id else [])
            if len(ids) != 1:
                raise UserFacingError("Run this in the team's channel, or name the team (e.g. `/huddle now alpha`).")
            team = await session.get(Team, ids[0])
            assert team is not None
    if not (actor.is_admin or team.id in actor.oversees):
        raise NotAllowed(f"Sorry, *{team.name}* isn't one of the teams you lead.")
    return team


def _today(deps: Deps, team: Team) -> date:
    return deps.clock.now().astimezone(ZoneInfo(team.timezone)).date()


async def _focus(deps: Deps, actor: Actor, team: Team, focus: str, *, by: str) -> str:
    assert team.id is not None
    day = _today(deps, team)
    now = deps.clock.now()
    async with deps.sessions() as session:
        await huddles.save_day(session, team.id, day, now=now, focus=focus, focus_by=actor.member_id)
        updated = 0
        for row in await huddles.open_huddles(session, team.id):
            if row.day == day:
                updated += await queue_prompt_update(deps, session, row, focus=focus)
        audit.record(session, actor=by, action="huddle.focus", subject=f"team:{team.id}")
        await session.commit()
    if updated:
        deps.outbox_ready.send()
    shows = " (the open prompt now shows it)" if updated else ""
    return f"Today's focus for {escape(team.name)}: {escape(focus)}{shows}"


async def _skip(deps: Deps, actor: Actor, team: Team, cmd: HuddleCommand, *, by: str) -> str:
    """Skip or unskip a day. Skipping the day of an open scheduled prompt calls it off (no reminders, no digest,
    not in reports); unskipping brings back what the skip stopped while its window is still open."""
    assert team.id is not None
    today = _today(deps, team)
    day = cmd.day or today + timedelta(days=cmd.relative_days)
    if day < today:
        raise UserFacingError(f"{day:%a %d %b} has passed; skip today or a later day.")
    skip = cmd.action is HuddleAction.SKIP
    cal = parse_calendar(team.timezone, team.working_days, team.holidays)
    name = escape(team.name)
    if skip and not cal.is_working_day(day):
        return f"{day:%a %d %b} isn't a huddle day for {name} anyway (weekend or holiday); nothing changed."
    now = deps.clock.now()
    async with deps.sessions() as session:
        await huddles.save_day(session, team.id, day, now=now, skipped=skip, skipped_by=actor.member_id)
        if skip:
            changed = await huddles.cancel_open(session, team.id, day, [MAIN, SECOND], now)
            await _withdraw_reminders(session, team.id, changed)
        else:
            changed = await huddles.reopen_cancelled(session, team.id, day, now)
            slots = [slot_name(s.starts.astimezone(cal.tz)) for s in _slots(team, day) if now < s.closes]
            await huddles.clear_skipped(session, job_key=JOB, subject=f"team:{team.id}", slots=slots)
        plan = await huddles.get_day(session, team.id, day)
        for huddle_id in changed:
            row = await session.get(Huddle, huddle_id)
            assert row is not None
            await queue_prompt_update(deps, session, row, focus=plan.focus if plan else None, cancelled=skip)
        held = [h for h in await huddles.huddles_on(session, team.id, day) if h.status == "closed"]
        audit.record(
            session,
            actor=by,
            action="huddle.skip" if skip else "huddle.unskip",
            subject=f"team:{team.id}",
            day=day.isoformat(),
        )
        await session.commit()
    if changed:
        deps.outbox_ready.send()
    if skip:
        answer = f"No {name} huddle on {day:%a %d %b}: no prompt, no reminders."
        if changed:
            answer += " The prompt already posted is called off: no check-ins, reminders or digest."
        if held:
            answer += " The huddle already held keeps its digest."
        return answer
    return f"The {name} huddle is back on for {day:%a %d %b}." + await _back_on(deps, team, day, changed, now)


def _slots(team: Team, day: date) -> list[HuddleSlot]:
    if team.huddle_time is None:
        return []
    return day_slots(day, team.huddle_time, team_settings(team), ZoneInfo(team.timezone))


async def _withdraw_reminders(session: AsyncSession, team_id: int, huddle_ids: list[int]) -> None:
    """Reminder DMs of called-off huddles still waiting to be sent are not sent."""
    for huddle_id in huddle_ids:
        row = await session.get(Huddle, huddle_id)
        assert row is not None
        for agent in await roster(session, team_id):
            await outbox.cancel_pending(session, reminder_key(row.message_key, agent.id))


async def _back_on(deps: Deps, team: Team, day: date, reopened: list[int], now: datetime) -> str:
    """What an unskip brings back, said truthfully: a prompt open again, posted now, posting later, or none."""
    tz = ZoneInfo(team.timezone)
    if reopened:
        return " The prompt posted earlier is open again for check-ins."
    posted = await post_due_prompts(deps, team, now)
    if posted:
        async with deps.sessions() as session:
            row = await session.get(Huddle, posted[0])
        closes = f"{row.closes_at.astimezone(tz):%H:%M}" if row else "?"
        return f" Posted its prompt in <#{team.channel_id}>; check-ins close at {closes}."
    if day == now.astimezone(tz).date():
        async with deps.sessions() as session:
            still_open = [h for h in await huddles.huddles_on(session, team.id or 0, day) if h.status == "open"]
        if still_open:
            return f" Its prompt is open: check-ins close at {still_open[0].closes_at.astimezone(tz):%H:%M}."
        later = [s for s in _slots(team, day) if s.starts > now]
        if later:
            return f" The prompt posts at {later[0].starts.astimezone(tz):%H:%M}."
        return " Today's huddle time has passed, so there is no prompt today."
    return ""


async def _leave(deps: Deps, actor: Actor, cmd: HuddleCommand, *, by: str) -> str:
    assert cmd.slack_user_id and cmd.first and cmd.last
    async with deps.sessions() as session:
        member = await org.member_by(session, slack_user_id=cmd.slack_user_id)
        if member is None:
            raise UserFacingError(f"<@{cmd.slack_user_id}> isn't on any Rhythm roster.")
        if not (actor.is_admin or (member.team_id is not None and member.team_id in actor.oversees)):
            raise NotAllowed(f"Sorry, {member.name} isn't in a team you lead.")
        await add_leave(session, member.id, cmd.first, cmd.last, created_by=actor.member_id)
        audit.record(
            session,
            actor=by,
            action="huddle.leave",
            subject=f"member:{member.id}",
            first=cmd.first.isoformat(),
            last=cmd.last.isoformat(),
        )
        await session.commit()
    days = f"{cmd.first:%a %d %b}" if cmd.first == cmd.last else f"{cmd.first:%a %d %b} – {cmd.last:%a %d %b}"
    return f"{member.name} is on leave {days}: not expected at huddles, not reminded, not counted absent."
