"""A breach's Slack message: posted once (or batched when many start together), updated in place as it runs,
escalated to the ops manager by DM; the scan decides, this module words and queues (through the outbox)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.blocks.adherence import BreachView, render_batch, render_breach
from bot.domain.adherence_policy import AdherencePolicy
from bot.store import outbox
from bot.store.tables import Breach, Member, Team, TeamOversight


def breach_view(b: Breach, name: str, team: Team, now: datetime, acted_by: str | None = None) -> BreachView:
    end = b.ended_at or now
    return BreachView(
        breach_id=b.id or 0,
        agent_name=name,
        kind=b.kind,
        started=b.started_at.astimezone(ZoneInfo(team.timezone)),
        minutes=int((end - b.started_at).total_seconds() // 60),
        scheduled=b.scheduled_activity,
        actual=b.actual_state,
        status=b.status,
        ended=b.ended_at is not None,
        acted_by=acted_by,
        reason=b.reason_code,
        escalated=b.escalated_at is not None,
    )


def view_of(row: Breach, names: dict[int, str], team: Team, now: datetime) -> BreachView:
    """The breach as its message shows it, with who acknowledged or excused it (the buttons set that)."""
    acted_by = names.get(row.acted_by) if row.acted_by is not None else None
    return breach_view(row, names.get(row.member_id, "?"), team, now, acted_by=acted_by)


def shown(view: BreachView) -> str:
    """What a breach message displays, as a short signature: a new one means the message needs an update."""
    return f"{view.minutes}:{view.status}:{int(view.ended)}:{int(view.escalated)}:{view.acted_by or ''}"


async def queue_update(session: AsyncSession, row: Breach, view: BreachView, team: Team, now: datetime) -> bool:
    """Edit the breach's message in place (the outbox waits for the original's ts); True when newly queued."""
    if not row.message_key or not team.channel_id or row.shown == shown(view):
        return False
    named = team.privacy_mode != "counts"
    row.shown = shown(view)
    key = f"{row.message_key}:u:{row.shown}"
    return await outbox.enqueue(
        session,
        key=key,
        channel=team.channel_id,
        kind="update",
        update_of=row.message_key,
        now=now,
        payload=render_breach(view, named=named),
    )


async def announce(
    session: AsyncSession,
    team: Team,
    fresh: list[Breach],
    policy: AdherencePolicy,
    names: dict[int, str],
    now: datetime,
) -> tuple[int, int]:
    """Post the new breaches (the first ``alert_cap`` one by one, the rest in one message); (posted, batched)."""
    if not fresh or not team.channel_id:
        return 0, 0
    named = team.privacy_mode != "counts"
    fresh.sort(key=lambda b: b.started_at)
    one_by_one, batched = fresh[: policy.alert_cap], fresh[policy.alert_cap :]
    for row in one_by_one:
        view = view_of(row, names, team, now)
        row.message_key, row.shown = f"breach:{row.id}", shown(view)
        await outbox.enqueue(
            session, key=row.message_key, channel=team.channel_id, payload=render_breach(view, named=named), now=now
        )
        if not named:
            for lead in await _team_people(session, team, roles=("lead",)):
                await outbox.enqueue(
                    session,
                    key=f"breach:{row.id}:dm:{lead.id}",
                    channel=lead.slack_user_id or "",
                    now=now,
                    kind="dm",
                    payload=render_breach(view, named=True),
                )
    if batched:
        views = [view_of(b, names, team, now) for b in batched]
        first = min(b.id or 0 for b in batched)
        await outbox.enqueue(
            session,
            key=f"breach-batch:{team.id}:{first}",
            now=now,
            channel=team.channel_id,
            payload=render_batch(team.name, views, named=named),
        )
    return len(one_by_one), len(batched)


async def escalate(
    session: AsyncSession,
    team: Team,
    policy: AdherencePolicy,
    mine: list[Breach],
    names: dict[int, str],
    now: datetime,
) -> int:
    """DM the team's managers about its breaches open longer than the policy allows, once each; how many."""
    if policy.escalate_after_minutes is None:
        return 0
    due = [
        b
        for b in mine
        if b.ended_at is None
        and b.escalated_at is None
        and b.status == "open"
        and now - b.started_at >= timedelta(minutes=policy.escalate_after_minutes)
    ]
    if not due:
        return 0
    managers = [m for m in await _team_people(session, team, roles=("manager",)) if m.slack_user_id]
    for row in due:
        row.escalated_at = now
        view = view_of(row, names, team, now)
        for manager in managers:
            await outbox.enqueue(
                session,
                key=f"breach:{row.id}:escalate:{manager.id}",
                channel=manager.slack_user_id or "",
                now=now,
                kind="dm",
                payload=render_breach(view, named=True),
            )
        await queue_update(session, row, view, team, now)
    return len(due)


async def _team_people(session: AsyncSession, team: Team, *, roles: tuple[str, ...]) -> list[Member]:
    query = (
        select(Member)
        .join(TeamOversight, col(TeamOversight.member_id) == Member.id)
        .where(col(TeamOversight.team_id) == team.id, col(Member.role).in_(roles), col(Member.active))
    )
    return list((await session.execute(query)).scalars())
