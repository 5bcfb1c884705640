"""``/1on1`` answers that read: history (a lead's full view, or an agent's own shared view), what's due, help."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.blocks.coaching import render_history
from bot.blocks.coaching_due import render_due
from bot.blocks.kit import context, header, message
from bot.blocks.kpi import render_text
from bot.crypto import cipher_from
from bot.deps import Deps
from bot.domain.access import Actor, Role
from bot.domain.coaching import parse_coaching_settings
from bot.domain.coaching_commands import ONE_ON_ONE_HELP, CoachingQuery, Intent
from bot.domain.coaching_due import AgentRecord, DueReport, OpenAction, due_report
from bot.domain.errors import UserFacingError
from bot.services.coaching import close_action_item
from bot.services.coaching_access import (
    agent_by_id,
    agent_by_slack,
    caller,
    check_lead,
    check_manage,
    home_team,
    tz_of,
)
from bot.services.coaching_views import names, session_view
from bot.store import audit, coaching
from bot.store.leave import on_leave
from bot.store.tables import Member, Team


def _ephemeral(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "response_type": "ephemeral"}


async def answer_one_on_one(deps: Deps, *, user_id: str, query: CoachingQuery) -> dict[str, Any]:
    """The reply to ``/1on1 history | due | done | help`` (the form is opened by the handler)."""
    if query.intent is Intent.HELP:
        return _ephemeral(render_text(ONE_ON_ONE_HELP))
    if query.intent is Intent.HISTORY:
        return _ephemeral(await history(deps, user_id=user_id, slack_user_id=query.slack_user_id, count=query.count))
    if query.intent is Intent.DUE:
        return _ephemeral(await due(deps, user_id=user_id))
    if query.intent is Intent.DONE:
        assert query.item_id is not None
        return _ephemeral(render_text(await close_action_item(deps, user_id=user_id, item_id=query.item_id)))
    raise UserFacingError(ONE_ON_ONE_HELP)


async def history(deps: Deps, *, user_id: str, slack_user_id: str | None, count: int) -> dict[str, Any]:
    """A lead's view (summaries, notes opened, evidence) or the agent's own (shared parts only)."""
    cipher = cipher_from(deps.settings)
    async with deps.sessions() as session:
        actor = await caller(session, user_id)
        if slack_user_id is None or slack_user_id == user_id:
            member = await agent_by_id(session, actor.member_id)
            lead_view = False
        else:
            member = await agent_by_slack(session, slack_user_id)
            await check_manage(session, actor, member)
            lead_view = True
        tz = tz_of(deps, await home_team(session, member))
        rows = await coaching.sessions_for(session, member.id, limit=count)
        items = await coaching.items_for(session, [r.id for r in rows if r.id is not None])
        people = await names(session, [member.id, *(r.lead_id for r in rows)])
        views = [session_view(r, items[r.id or 0], people, tz, cipher=cipher, private=lead_view) for r in rows]
        audit.record(
            session,
            actor=f"slack:{user_id}",
            action="coaching.history.read",
            subject=f"member:{member.id}",
            sessions=len(rows),
            private_notes=lead_view and any(v.notes for v in views),
        )
        await session.commit()
    return render_history(member.name, views, lead_view=lead_view)


async def _team_report(
    deps: Deps, session: AsyncSession, team: Team, open_actions: list[OpenAction]
) -> tuple[DueReport, int]:
    today = deps.clock.now().astimezone(ZoneInfo(team.timezone)).date()
    query = select(col(Member.id), col(Member.name)).where(
        col(Member.team_id) == team.id, col(Member.active), col(Member.role) == "agent"
    )
    agents: list[tuple[int, str]] = [(i, n) for i, n in (await session.execute(query)).all() if i is not None]
    ids = [i for i, _ in agents]
    latest = await coaching.latest_sessions(session, ids)
    away = await on_leave(session, ids, today)
    records = [
        AgentRecord(
            member_id=i,
            name=name,
            team_id=team.id or 0,
            last_session_id=latest[i].id if i in latest else None,
            last_held_on=latest[i].held_on if i in latest else None,
            last_follow_up_on=latest[i].follow_up_on if i in latest else None,
            on_leave=i in away,
        )
        for i, name in agents
    ]
    try:
        cadence = parse_coaching_settings(team.coaching).cadence_days or deps.settings.coaching_cadence_days
    except ValueError:
        cadence = deps.settings.coaching_cadence_days
    mine = [a for a in open_actions if a.member_id in set(ids)]
    return due_report(records, mine, today=today, cadence_days={team.id or 0: cadence}), cadence


async def due(deps: Deps, *, user_id: str) -> dict[str, Any]:
    async with deps.sessions() as session:
        actor = await caller(session, user_id)
        check_lead(actor)
        teams = await _teams_of(session, actor)
        if not teams:
            raise UserFacingError("You don't lead any team yet, so nothing is due.")
        # Agents only: a lead's own record (items from their manager's 1:1s) is not for a fellow lead's report.
        in_teams = select(col(Member.id)).where(
            col(Member.team_id).in_([t.id for t in teams]), col(Member.role) == Role.AGENT.value
        )
        members = [i for i in (await session.execute(in_teams)).scalars() if i is not None]
        items = await coaching.open_items(session, members)
        people = await names(session, members)
        open_actions = [
            OpenAction(i.id or 0, i.member_id, people.get(i.member_id, "?"), i.text, i.owner, i.due_on) for i in items
        ]
        blocks: list[dict[str, Any]] = []
        texts = []
        for team in teams:
            report, cadence = await _team_report(deps, session, team, open_actions)
            today = deps.clock.now().astimezone(ZoneInfo(team.timezone)).date()
            part = render_due(report, today, cadence=f"every {cadence} days")
            blocks += [header(f"{team.name} · coaching due {today:%a %d %b}"), *part["blocks"][1:]]
            texts.append(f"{team.name}: {part['text']}")
            shown = _shown(report)
            audit.record(
                session,
                actor=f"slack:{user_id}",
                action="coaching.due.read",
                subject=f"team:{team.id}",
                agents=len(shown),
            )
            for member_id in sorted(shown):  # each agent whose coaching facts the report shows: their SAR finds it
                audit.record(
                    session,
                    actor=f"slack:{user_id}",
                    action="coaching.due.read",
                    subject=f"member:{member_id}",
                    team_id=team.id,
                )
        await session.commit()
    if len(blocks) > 50:
        blocks = [*blocks[:49], context("…more teams not shown; ask per team.")]
    return message("; ".join(texts), blocks)


def _shown(report: DueReport) -> set[int]:
    """The agents the report names with something from their coaching record (on leave only: not a read)."""
    ids = {o.agent.member_id for o in report.follow_ups if o.agent is not None}
    ids |= {o.action.member_id for o in report.actions if o.action is not None}
    return ids | {agent.member_id for agent, _ in report.uncoached}


async def _teams_of(session: AsyncSession, actor: Actor) -> list[Team]:
    query = select(Team).order_by(col(Team.key))
    if not actor.is_admin:
        query = query.where(col(Team.id).in_(list(actor.oversees)))
    return list((await session.execute(query)).scalars())
