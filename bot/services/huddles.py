"""Huddle prompts: the scheduled ones (claimed per team and local slot) and ad-hoc ones (`/huddle now`).

A prompt is a Huddle row (unique per team, local day and sequence number) and an outbox post, committed
together with the job slot's claim: a restart or a second replica never posts one twice.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.huddle import PromptView, kpi_summary_lines, render_prompt
from bot.blocks.kit import escape
from bot.deps import Deps
from bot.domain.errors import UserFacingError
from bot.domain.huddle_settings import (
    MAIN,
    SECOND,
    HuddleSettings,
    adhoc_close,
    day_slots,
    late_time,
    parse_huddle_settings,
    remind_time,
)
from bot.domain.periods import PeriodKind
from bot.domain.schedule import parse_calendar, slot_name
from bot.services.kpi import team_scorecard
from bot.store import huddles, jobruns, outbox
from bot.store.huddle_people import open_breaches
from bot.store.huddle_tables import Huddle
from bot.store.notices import awaiting_for_team
from bot.store.org import team_info
from bot.store.tables import Team

log = logging.getLogger(__name__)
JOB = "huddle-prompt"
FIRST_ADHOC = 3
LABELS = {MAIN: "", SECOND: "second shift"}


def team_settings(team: Team) -> HuddleSettings:
    """The team's huddle settings; org.yml validates them, so a bad value here is logged and defaulted."""
    try:
        return parse_huddle_settings(team.huddle, team.huddle_time)
    except ValueError as exc:
        log.error("team %s has invalid huddle settings (%s); using defaults", team.id, exc)
        return HuddleSettings()


def label_of(seq: int) -> str:
    return LABELS.get(seq, "ad hoc")


async def notices_awaiting(session: AsyncSession, team_id: int, now: datetime) -> list[tuple[str, int]]:
    """The team's notices still awaiting acknowledgement, and how many of its agents have yet to, for the prompt."""
    return [
        (d.title if d.version <= 1 else f"{d.title} (v{d.version})", d.outstanding)
        for d in await awaiting_for_team(session, team_id, now)
    ]


async def _view(deps: Deps, team: Team, day: date, seq: int, late_at: datetime, closes: datetime) -> PromptView:
    """What the prompt shows, built before its slot is claimed, in its own read-only session: yesterday's KPIs,
    open alerts and notices. A failing lookup is logged and shown as unavailable — the team still gets its
    huddle — and the claim's transaction stays short (on SQLite it holds the database's write lock)."""
    info = team_info(team)
    now = deps.clock.now()
    # The last working day's figures: on a Monday (or after a holiday) that is the day before the gap.
    calendar = parse_calendar(team.timezone, team.working_days, team.holidays)
    kpi_day = calendar.previous_working_day(day)
    view = PromptView(
        huddle_id=0,  # set once the huddle row exists
        team_name=team.name,
        day=f"{day:%a %d %b}",
        label=label_of(seq),
        closes=f"{closes.astimezone(info.tz):%H:%M}",
        late_after=f"{late_at.astimezone(info.tz):%H:%M}",
        kpi_day=f"{kpi_day:%a %d %b}",
        breaches=None,
    )
    async with deps.sessions() as session:
        try:
            card = await team_scorecard(deps, session, info, PeriodKind.YESTERDAY, today=kpi_day + timedelta(days=1))
            view = replace(view, kpi_lines=kpi_summary_lines(card))
        except Exception:
            log.exception("huddle prompt for team %s: KPI figures unavailable", info.id)
            view = replace(view, kpi_unavailable=True)
            await session.rollback()
        try:
            view = replace(view, breaches=await open_breaches(session, info.id))
        except Exception:
            log.exception("huddle prompt for team %s: open breaches unavailable", info.id)
            await session.rollback()
        try:
            view = replace(view, notices=tuple(await notices_awaiting(session, info.id, now)))
        except Exception:
            log.exception("huddle prompt for team %s: notices unavailable", info.id)
    return view


async def _post(
    deps: Deps,
    session: AsyncSession,
    team: Team,
    view: PromptView,
    *,
    day: date,
    seq: int,
    posted: datetime,
    closes: datetime,
    settings: HuddleSettings,
    started_by: int | None = None,
) -> int | None:
    """Create the huddle and queue its prompt (``view``, with the day's focus as it is now); its id, or None
    when (team, day, seq) already exists."""
    assert team.id is not None and team.channel_id is not None
    key = f"huddle:{team.id}:{day.isoformat()}:{seq}"
    plan = await huddles.get_day(session, team.id, day)
    view = replace(view, focus=plan.focus if plan else None)
    huddle_id = await huddles.insert_huddle(
        session,
        team_id=team.id,
        day=day,
        seq=seq,
        message_key=key,
        prompt={},
        posted_at=posted,
        late_at=late_time(posted, closes, settings),
        closes_at=closes,
        remind_at=_remind_at(posted, closes, settings),
        started_by=started_by,
    )
    if huddle_id is None:
        return None
    view = replace(view, huddle_id=huddle_id)
    row = await session.get(Huddle, huddle_id)
    assert row is not None
    row.prompt, row.shown = view.as_json(), view.signature()
    await outbox.enqueue(session, key=key, channel=team.channel_id, payload=render_prompt(view), now=deps.clock.now())
    return huddle_id


def _remind_at(posted: datetime, closes: datetime, settings: HuddleSettings) -> datetime | None:
    """When to remind; None when that moment came before the prompt did (a late post reminds nobody at once)."""
    at = remind_time(closes, settings)
    return at if at is not None and at > posted else None


async def post_due_prompts(deps: Deps, team: Team, now: datetime) -> list[int]:
    """Post each of the team's scheduled huddles whose check-in window is open now (today's or, for a late
    shift running past midnight, yesterday's); ids of the huddles posted by this call."""
    if team.huddle_time is None or team.channel_id is None or team.id is None:
        return []
    settings = team_settings(team)
    cal = parse_calendar(team.timezone, team.working_days, team.holidays)
    today = now.astimezone(cal.tz).date()
    posted: list[int] = []
    grace = timedelta(seconds=deps.settings.misfire_grace_seconds)
    for day in (today - timedelta(days=1), today):
        if not cal.is_working_day(day):
            continue
        for slot in day_slots(day, team.huddle_time, settings, cal.tz):
            if now < slot.starts or now >= slot.closes + grace:
                continue
            huddle_id = await _claim_and_post(deps, team, day, slot.seq, slot.starts, slot.closes, settings, now)
            if huddle_id is not None:
                posted.append(huddle_id)
    return posted


async def _claim_and_post(
    deps: Deps,
    team: Team,
    day: date,
    seq: int,
    starts: datetime,
    closes: datetime,
    settings: HuddleSettings,
    now: datetime,
) -> int | None:
    subject, name = f"team:{team.id}", slot_name(starts.astimezone(ZoneInfo(team.timezone)))
    late = now >= closes
    async with deps.sessions() as session:
        if await huddles.slot_claimed(session, job_key=JOB, subject=subject, slot=name):
            return None  # the usual case on every tick after the first: no need to build the prompt
    view = None if late else await _view(deps, team, day, seq, late_time(now, closes, settings), closes)
    async with deps.sessions() as session:
        plan = await huddles.get_day(session, team.id or 0, day)
        status = "missed" if late else "skipped" if plan and plan.skipped else "claimed"
        if not await jobruns.claim(
            session, job_key=JOB, subject=subject, slot=name, scheduled_for=starts, status=status
        ):
            return None  # another run (or replica) has this slot
        if view is None or status != "claimed":
            if status == "missed":
                log.warning("huddle for team %s at %s missed (check-ins already closed); not posted", team.id, name)
            await session.commit()
            return None
        huddle_id = await _post(
            deps, session, team, view, day=day, seq=seq, posted=now, closes=closes, settings=settings
        )
        await jobruns.finish(
            session, job_key=JOB, subject=subject, slot=name, status="done" if huddle_id else "duplicate"
        )
        await session.commit()
    deps.outbox_ready.send()
    return huddle_id


async def post_adhoc(deps: Deps, team: Team, *, started_by: int) -> tuple[int, datetime]:
    """`/huddle now`: a prompt posted at once; refuses while another huddle of the team is open."""
    if team.channel_id is None or team.id is None:
        raise UserFacingError(f"*{team.name}* has no channel in org.yml, so there is nowhere to post a huddle.")
    settings = team_settings(team)
    now = deps.clock.now()
    tz = ZoneInfo(team.timezone)
    day = now.astimezone(tz).date()
    closes = adhoc_close(now, settings)
    async with deps.sessions() as session:
        await _refuse_if_open(session, team, tz)
        seq = await huddles.next_seq(session, team.id, day, first_adhoc=FIRST_ADHOC)
    view = await _view(deps, team, day, seq, late_time(now, closes, settings), closes)
    async with deps.sessions() as session:
        await _refuse_if_open(session, team, tz)
        huddle_id = await _post(
            deps,
            session,
            team,
            view,
            day=day,
            seq=seq,
            posted=now,
            closes=closes,
            settings=settings,
            started_by=started_by,
        )
        if huddle_id is None:
            raise UserFacingError("Someone started a huddle for this team at the same moment; look in the channel.")
        await session.commit()
    deps.outbox_ready.send()
    return huddle_id, closes.astimezone(tz)


async def _refuse_if_open(session: AsyncSession, team: Team, tz: ZoneInfo) -> None:
    already = await huddles.open_huddles(session, team.id or 0)
    if already:
        closing = already[0].closes_at.astimezone(tz)
        raise UserFacingError(f"A {escape(team.name)} huddle is already open: check-ins close at {closing:%H:%M}.")


async def queue_prompt_update(
    deps: Deps, session: AsyncSession, row: Huddle, *, focus: str | None, **state: Any
) -> bool:
    """Edit the prompt in place (new focus, closed, called off); nothing is queued when it would show the same.

    Each change gets its own outbox key (``:u:<n>``, counted on the huddle row), so changing the focus back to
    an earlier text is sent too. An update still waiting to be sent is given the new content instead: a burst
    of changes is one edit in Slack.
    """
    if not row.prompt or row.id is None:
        return False
    view = PromptView.from_json(row.prompt).with_state(focus=focus, **state)
    queued = await huddles.mark_shown(session, row.id, view.signature())
    if queued is None:
        return False
    payload = render_prompt(view)
    if queued and await outbox.replace_pending(session, key=f"{row.message_key}:u:{queued}", payload=payload):
        return True
    n = await huddles.next_prompt_update(session, row.id)
    original = await outbox.get(session, row.message_key)
    return await outbox.enqueue(
        session,
        key=f"{row.message_key}:u:{n}",
        channel=original.channel if original else "",
        kind="update",
        update_of=row.message_key,
        payload=payload,
        now=deps.clock.now(),
    )
