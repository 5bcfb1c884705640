"""Who may touch whose coaching data, and the small lookups every coaching service starts with.

Rule (issue #6): only the person's own leaders and admins can log, read or export their coaching data:
a lead acts on the *agents* of the teams they lead (never a fellow lead), a manager on the agents and the leads
of the teams they oversee, an admin on anyone but themselves. Agents see their own shared summaries and plans
(never private notes) and acknowledge their own records; everyone else is refused. Nobody logs coaching about
themselves.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.deps import Deps
from bot.domain.access import UNKNOWN_USER, Actor, Role
from bot.domain.errors import NotAllowed, UserFacingError
from bot.domain.models import MemberInfo, TeamInfo
from bot.store import audit, org
from bot.store.coaching import Submission
from bot.store.tables import Member, TeamOversight


def can_manage(actor: Actor, member: MemberInfo, member_leads: frozenset[int] = frozenset()) -> bool:
    """``member_leads``: the teams ``member`` oversees (a lead's teams; needed only when a lead is the subject)."""
    if actor.member_id == member.id:
        return False
    if actor.is_admin:
        return True
    if member.role is Role.AGENT:
        return actor.role in (Role.LEAD, Role.MANAGER) and member.team_id in actor.oversees
    if member.role is Role.LEAD and actor.role is Role.MANAGER:
        teams = member_leads | ({member.team_id} if member.team_id is not None else set())
        return bool(teams & actor.oversees)
    return False


async def teams_led(session: AsyncSession, member_id: int) -> frozenset[int]:
    query = select(col(TeamOversight.team_id)).where(col(TeamOversight.member_id) == member_id)
    return frozenset((await session.execute(query)).scalars())


async def may_manage(session: AsyncSession, actor: Actor, member: MemberInfo) -> bool:
    """``can_manage``, with the subject's own teams looked up when it matters (a manager over a lead)."""
    if member.role is Role.LEAD and actor.role is Role.MANAGER and actor.member_id != member.id:
        return can_manage(actor, member, await teams_led(session, member.id))
    return can_manage(actor, member)


async def check_manage(session: AsyncSession, actor: Actor, member: MemberInfo) -> None:
    if await may_manage(session, actor, member):
        return
    name = member.name  # not escaped: the message also goes to modal field errors, which are plain text
    if actor.member_id == member.id:
        raise NotAllowed("Your own coaching record is kept by your leader; you can't log or change it yourself.")
    if actor.role is Role.AGENT:
        raise NotAllowed("Sorry, coaching records are private: only an agent's own leaders and managers see them.")
    if member.role is Role.LEAD:
        if actor.role is Role.LEAD:
            raise NotAllowed(
                f"Sorry, {name} is a team leader: their coaching record is for their manager (or an admin), "
                "not a fellow lead."
            )
        raise NotAllowed(f"Sorry, {name} doesn't lead a team you manage, so their coaching record isn't yours to see.")
    if member.role is not Role.AGENT:
        raise NotAllowed(f"Sorry, {name} is a {member.role.value}: only an admin can see their coaching record.")
    raise NotAllowed(f"Sorry, {name} isn't in a team you lead, so their coaching record isn't yours to see.")


async def actor_by_id(session: AsyncSession, member_id: int) -> Actor | None:
    """The Actor of an *active* roster member (their role and oversight now), or None."""
    row = await session.get(Member, member_id)
    if row is None or row.id is None or not row.active:
        return None
    return Actor(row.id, row.name, Role(row.role), row.team_id, await teams_led(session, row.id))


def check_lead(actor: Actor) -> None:
    if actor.role is Role.AGENT:
        raise NotAllowed("Only team leaders and managers can do that.")


async def caller(session: AsyncSession, user_id: str) -> Actor:
    actor = await org.load_actor(session, slack_user_id=user_id)
    if actor is None:
        raise UserFacingError(UNKNOWN_USER)
    return actor


async def agent_by_slack(session: AsyncSession, slack_user_id: str) -> MemberInfo:
    member = await org.member_by(session, slack_user_id=slack_user_id)
    if member is None:
        raise UserFacingError(f"<@{slack_user_id}> isn't on any Rhythm roster, so there is no coaching record.")
    return member


async def agent_by_id(session: AsyncSession, member_id: int) -> MemberInfo:
    member = await org.member_by_id(session, member_id)
    if member is None:
        raise UserFacingError("That person is no longer on the roster.")
    return member


async def home_team(session: AsyncSession, member: MemberInfo) -> TeamInfo | None:
    """The person's team; for a manager with none, the first team they oversee (their records go under it)."""
    if member.team_id is not None:
        return await org.team_by_id(session, member.team_id)
    led = await teams_led(session, member.id) if member.role is not Role.AGENT else frozenset()
    return await org.team_by_id(session, min(led)) if led else None


def local_today(deps: Deps, team: TeamInfo | None) -> date:
    tz = team.tz if team else ZoneInfo(deps.settings.default_timezone)
    return deps.clock.now().astimezone(tz).date()


def tz_of(deps: Deps, team: TeamInfo | None) -> ZoneInfo:
    return team.tz if team else ZoneInfo(deps.settings.default_timezone)


@dataclass(frozen=True, slots=True)
class OpenForm:
    """A modal to open, and the audit event of the facts it shows: recorded once it is on screen
    (``form_opened``), so a modal Slack refused to open leaves no "read" behind."""

    view: dict[str, Any]
    audit: dict[str, Any] = field(default_factory=dict)  # actor, action, subject and details; {}: nothing read


async def form_opened(deps: Deps, form: OpenForm) -> None:
    if not form.audit:
        return
    async with deps.sessions() as session:
        audit.record(session, **form.audit)
        await session.commit()


def submission(user_id: str, view_id: str | None, form: Any) -> Submission | None:
    """The once-only key of a modal submission (a dataclass of what was typed): Slack's view id, with a digest
    of who sent it and the content. None without a view id (then nothing can tell a replay apart)."""
    if not view_id:
        return None
    content = json.dumps([user_id, asdict(form)], sort_keys=True, default=str)
    return Submission(view_id, hashlib.sha256(content.encode("utf-8")).hexdigest()[:32])
