"""Publishing and editing notices from the modal (``/notice new``, ``/notice edit N``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.blocks.ids import BlockId
from bot.blocks.notice_form import FormDefaults, NoticeForm, TeamOption, parse_notice_form, render_notice_modal
from bot.blocks.notices import render_published_view, render_reack_dm
from bot.deps import Deps
from bot.domain.access import UNKNOWN_USER, Actor
from bot.domain.errors import UserFacingError
from bot.domain.notice_access import check_can_edit, check_can_publish, publishable_teams
from bot.domain.notices import VersionInfo, content_hash, judge_edit, minor_problem
from bot.services.notice_posts import notice_view, queue_posts, refresh_post
from bot.store import audit, notice_acks, notice_reminders, notices, org, outbox
from bot.store.leave import on_leave
from bot.store.tables import Team, pk

NO_TEAMS = "You don't look after a team yet, so there's no one to send a notice to."
PAST_DEADLINE = (
    "This deadline has passed, and everyone must acknowledge the new version: set a new deadline for it (or clear it)."
)
EDITED_MEANWHILE = (
    "Someone else changed this notice while you were editing it. Close this and run `/notice edit {id}` again."
)


@dataclass(frozen=True, slots=True)
class FormResult:
    errors: dict[str, str] | None = None  # field errors by block id
    view: dict[str, Any] | None = None  # the confirmation the modal turns into


async def load_actor(session: AsyncSession, user_id: str) -> Actor:
    actor = await org.load_actor(session, slack_user_id=user_id)
    if actor is None:
        raise UserFacingError(UNKNOWN_USER)
    return actor


async def _teams(session: AsyncSession, ids: list[int] | None = None) -> list[Team]:
    query = select(Team).order_by(col(Team.name))
    if ids is not None:
        query = query.where(col(Team.id).in_(ids))
    return list((await session.execute(query)).scalars())


async def open_form(deps: Deps, *, user_id: str, notice_id: int | None) -> dict[str, Any]:
    """The modal for a new notice, or for editing notice ``notice_id``; raises a polite refusal."""
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor = await load_actor(session, user_id)
        if notice_id is None:
            check_can_publish(actor)
            teams = await _teams(session)
            allowed = publishable_teams(actor, [pk(t) for t in teams])
            if not allowed:
                raise UserFacingError(NO_TEAMS)
            home = next((t.timezone for t in teams if t.id == (actor.team_id or allowed[0])), None)
            tz = ZoneInfo(home or deps.settings.default_timezone)
            options = tuple(TeamOption(pk(t), t.name) for t in teams if pk(t) in allowed)
            selected = tuple(allowed) if len(allowed) == 1 else ()
            return render_notice_modal(FormDefaults(options, now.astimezone(tz).date(), selected=selected))
        current = await _current(session, notice_id)
        audience = await notices.audience_team_ids(session, notice_id)
        check_can_edit(actor, notice_id, audience)
        options = tuple(TeamOption(pk(t), t.name) for t in await _teams(session, audience))
        return render_notice_modal(
            FormDefaults(
                options,
                current.effective_on,
                title=current.title,
                body=current.body,
                link=current.link,
                deadline=current.deadline,
                notice_id=notice_id,
                number=current.number,
            )
        )


async def _current(session: AsyncSession, notice_id: int) -> VersionInfo:
    current = await notices.current_version(session, notice_id)
    if current is None:
        raise UserFacingError(f"There's no notice #{notice_id} (see `/notice list`).")
    return current


async def submit_form(deps: Deps, *, user_id: str, private_metadata: str, values: Mapping[str, Any]) -> FormResult:
    """Publish a new notice or save an edit; field errors (nothing saved) or the confirmation view."""
    now = deps.clock.now()
    try:
        async with deps.sessions() as session:
            actor = await load_actor(session, user_id)
            teams = await _teams(session)
            allowed = publishable_teams(actor, [pk(t) for t in teams])
            form = parse_notice_form(private_metadata, values, now=now, allowed_teams=allowed)
            if isinstance(form, dict):
                return FormResult(errors=form)
            if form.notice_id is None:
                check_can_publish(actor)
                chosen = [t for t in teams if pk(t) in form.team_ids]
                result = await _publish(session, f"slack:{user_id}", actor, form, chosen, now)
            else:
                result = await _edit(session, f"slack:{user_id}", actor, form, now)
            if result.errors is None:
                await session.commit()
    except UserFacingError as exc:
        return FormResult(errors={BlockId.NOTICE_TITLE: exc.message})
    deps.outbox_ready.send()
    return result


async def _publish(
    session: AsyncSession, who: str, actor: Actor, form: NoticeForm, teams: list[Team], now: datetime
) -> FormResult:
    version = await notices.create_notice(
        session,
        author_id=actor.member_id,
        team_ids=form.team_ids,
        content=form.content,
        deadline=form.deadline,
        now=now,
    )
    missing = await queue_posts(session, version, teams, now)
    audit.record(
        session,
        actor=who,
        action="notice.publish",
        subject=f"notice:{version.notice_id}",
        version=1,
        content_hash=version.content_hash,
        teams=list(form.team_ids),
    )
    posted = [t.name for t in teams if t.name not in missing]
    return FormResult(view=render_published_view(version.notice_id, 1, posted, missing))


async def _edit(session: AsyncSession, who: str, actor: Actor, form: NoticeForm, now: datetime) -> FormResult:
    assert form.notice_id is not None and form.number is not None
    notice_id = form.notice_id
    current = await _current(session, notice_id)
    audience = await notices.audience_team_ids(session, notice_id)
    check_can_edit(actor, notice_id, audience)
    stale: dict[str, str] = {BlockId.NOTICE_TITLE: EDITED_MEANWHILE.format(id=notice_id)}
    if current.number != form.number:
        return FormResult(errors=stale)
    if form.minor and (problem := minor_problem(current.content, form.content)):
        return FormResult(errors={BlockId.NOTICE_MINOR: problem})
    outcome = judge_edit(
        old_hash=current.content_hash,
        new_hash=content_hash(form.content),
        old_deadline=current.deadline,
        new_deadline=form.deadline,
        minor=form.minor,
    )
    if not outcome.changed:
        return FormResult(errors={str(BlockId.NOTICE_TITLE): "Nothing changed: edit the text, dates or link first."})
    if outcome.material and form.deadline is not None and form.deadline <= now:
        return FormResult(errors={BlockId.NOTICE_DEADLINE: PAST_DEADLINE})
    new = await notices.add_version(
        session,
        notice_id=notice_id,
        expected_number=current.number,
        content=form.content,
        deadline=form.deadline,
        material=outcome.material,
        author_id=actor.member_id,
        now=now,
    )
    if new is None:
        return FormResult(errors=stale)
    previous_base = await notices.version(session, notice_id, current.ack_number)
    assert previous_base is not None
    for post in await notice_acks.posts_for(session, previous_base.id):
        locked = await notice_acks.lock_post(session, version_id=post.version_id, team_id=post.team_id)
        await refresh_post(session, locked or post, now)  # the new content, or "replaced by vN"
    teams = await _teams(session, audience)
    missing: list[str] = []
    if outcome.material:
        missing = await queue_posts(session, new, teams, now)
        await _ask_again(session, previous_base, new, current.number, teams, now)
    audit.record(
        session,
        actor=who,
        action="notice.edit",
        subject=f"notice:{notice_id}",
        version=new.number,
        material=outcome.material,
        content_hash=new.content_hash,
    )
    posted = [t.name for t in teams if t.name not in missing and t.channel_id]
    return FormResult(view=render_published_view(notice_id, new.number, posted, missing))


async def _ask_again(
    session: AsyncSession, previous: VersionInfo, new: VersionInfo, shown: int, teams: list[Team], now: datetime
) -> None:
    """DM everyone who acknowledged the replaced version (and is not on leave) to acknowledge the new one."""
    acked = await notice_acks.acks_for(session, previous.id)
    by_team = {pk(t): t for t in teams}
    people = [m for m in await notice_acks.audience_members(session, by_team) if m.id in acked and m.slack_user_id]
    away: set[int] = set()
    for team_id, team in by_team.items():
        day = now.astimezone(ZoneInfo(team.timezone)).date()
        away |= await on_leave(session, [m.id for m in people if m.team_id == team_id], day)
    for m in people:
        if m.id in away:
            continue
        if await notice_reminders.record_reminder(
            session, version_id=new.id, member_id=m.id, team_id=m.team_id, kind="reack", now=now
        ):
            payload = render_reack_dm(notice_view(new, by_team[m.team_id].timezone), shown)
            key = f"notice:{new.notice_id}:v{new.number}:reack:{m.id}"
            await outbox.enqueue(session, key=key, channel=m.slack_user_id or "", kind="dm", payload=payload, now=now)
