"""What a lead does with a breach from Slack: acknowledge it, excuse it (with a reason), flag it for coaching."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.blocks.adherence import KIND_LABELS
from bot.deps import Deps
from bot.domain.access import UNKNOWN_USER, Actor, Role
from bot.domain.errors import NotAllowed, UserFacingError
from bot.services.adherence_alerts import breach_view, queue_update
from bot.store import audit, org
from bot.store.tables import Breach, Member, Team

NOT_A_LEAD = "Only the team's leaders and managers can act on adherence alerts."


@dataclass(frozen=True, slots=True)
class BreachTarget:
    breach_id: int
    agent_name: str
    kind: str


async def _load(session: AsyncSession, user_id: str, breach_id: int) -> tuple[Actor, Breach, Team]:
    actor = await org.load_actor(session, slack_user_id=user_id)
    if actor is None:
        raise UserFacingError(UNKNOWN_USER)
    breach = await session.get(Breach, breach_id)
    if breach is None:
        raise UserFacingError("That alert no longer exists.")
    if not (actor.is_admin or (actor.role in (Role.LEAD, Role.MANAGER) and breach.team_id in actor.oversees)):
        raise NotAllowed(NOT_A_LEAD)
    team = await session.get(Team, breach.team_id)
    assert team is not None
    return actor, breach, team


async def _agent_name(session: AsyncSession, breach: Breach) -> str:
    member = await session.get(Member, breach.member_id)
    return member.name if member else "?"


async def check_can_act(deps: Deps, *, user_id: str, breach_id: int) -> BreachTarget:
    """Raises a polite refusal unless the user leads the breach's team (or is an admin)."""
    async with deps.sessions() as session:
        _, breach, _ = await _load(session, user_id, breach_id)
        return BreachTarget(breach_id, await _agent_name(session, breach), breach.kind)


async def act(
    deps: Deps, *, user_id: str, breach_id: int, action: str, reason: str | None = None, note: str | None = None
) -> str:
    """Apply ``action`` (acknowledge | excuse | coach) once; returns the ephemeral confirmation.

    Replays and double clicks are harmless: acknowledging an acknowledged breach changes nothing.
    """
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor, breach, team = await _load(session, user_id, breach_id)
        name = await _agent_name(session, breach)
        label = KIND_LABELS.get(breach.kind, breach.kind)
        if breach.status == "withdrawn" and action != "coach":
            return f"That alert was withdrawn ({name}, {label} is no longer a breach); nothing changed."
        if action == "acknowledge":
            # A conditional UPDATE, not read-then-write: two clicks racing must acknowledge once.
            won = await session.execute(
                update(Breach)
                .where(col(Breach.id) == breach_id, col(Breach.status) == "open")
                .values(status="acknowledged", acted_by=actor.member_id, acted_at=now)
                .returning(col(Breach.id))
            )
            if won.first() is None:
                await session.rollback()
                return "Already acknowledged or closed; nothing changed."
            await session.refresh(breach)
            reply = f"Acknowledged: {name}, {label}."
        elif action == "excuse":
            breach.status, breach.reason_code, breach.note = "excused", reason, note
            breach.acted_by, breach.acted_at = actor.member_id, now
            reply = f"Excused: {name}, {label}. That time is left out of their adherence."
        elif action == "coach":
            audit.record(
                session,
                actor=f"slack:{user_id}",
                action="breach.coach_flag",
                subject=f"breach:{breach_id}",
                member_id=breach.member_id,
            )
            await session.commit()
            return f"Noted a coaching flag for {name} ({label}); it shows in their record for your next 1:1."
        else:
            raise ValueError(action)
        audit.record(
            session, actor=f"slack:{user_id}", action=f"breach.{action}", subject=f"breach:{breach_id}", reason=reason
        )
        await queue_update(session, breach, breach_view(breach, name, team, now, acted_by=actor.name), team, now)
        await session.commit()
    deps.outbox_ready.send()
    return reply
