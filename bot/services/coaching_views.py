"""From coaching rows to what the renderers show: names, local times, opened private notes (leads only), a
plan and its versions, and the KPI evidence of an agent over a window."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.blocks.coaching import ActionView, SessionView
from bot.blocks.coaching_pip import PlanView, VersionView
from bot.crypto import CannotDecrypt, Cipher
from bot.domain.coaching import KIND_LABELS, SessionKind
from bot.domain.coaching_effect import snapshot
from bot.domain.periods import DateRange
from bot.store import coaching, coaching_plans, kpis, org
from bot.store.coaching_tables import CoachingActionItem, CoachingSession, ImprovementPlan
from bot.store.tables import Member, pk


async def names(session: AsyncSession, member_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(member_ids))
    if not ids:
        return {}
    rows = await session.execute(select(col(Member.id), col(Member.name)).where(col(Member.id).in_(ids)))
    return {i: n for i, n in rows.all() if i is not None}


def action_view(item: CoachingActionItem) -> ActionView:
    assert item.id is not None
    return ActionView(item.id, item.text, item.owner, item.due_on, item.done_at is not None)


def session_view(
    row: CoachingSession,
    items: Sequence[CoachingActionItem],
    people: dict[int, str],
    tz: ZoneInfo,
    *,
    cipher: Cipher | None = None,
    private: bool = False,
) -> SessionView:
    """``private``: a lead's view, with the private notes opened (when the key can open them)."""
    assert row.id is not None
    notes, locked = None, False
    if private and row.private_notes is not None:
        if cipher is None:
            locked = True
        else:
            try:
                notes = cipher.open(row.private_notes)
            except CannotDecrypt:
                locked = True
    return SessionView(
        session_id=row.id,
        agent_name=people.get(row.member_id, "?"),
        lead_name=people.get(row.lead_id, "your leader"),
        kind=row.kind,
        held_on=row.held_on,
        summary=row.shared_summary,
        strengths=row.strengths,
        improve=row.improve,
        actions=tuple(action_view(i) for i in items),
        follow_up_on=row.follow_up_on,
        acknowledged_at=row.acknowledged_at.astimezone(tz) if row.acknowledged_at else None,
        notes=notes,
        notes_locked=locked,
        evidence=row.evidence if private else {},
    )


async def load_session_view(
    session: AsyncSession, row: CoachingSession, tz: ZoneInfo, *, cipher: Cipher | None = None, private: bool = False
) -> SessionView:
    assert row.id is not None
    items = (await coaching.items_for(session, [row.id]))[row.id]
    people = await names(session, [row.member_id, row.lead_id])
    return session_view(row, items, people, tz, cipher=cipher, private=private)


async def kpi_evidence(session: AsyncSession, member_id: int, team_id: int | None, window: DateRange) -> dict[str, Any]:
    """The agent's KPI figures over ``window`` (their team's targets), as the JSON kept with a session."""
    rows = await kpis.day_sums(session, days=window, member_id=member_id)
    targets = await org.load_targets(session, team_id) if team_id else {}
    return snapshot(await org.load_metrics(session), rows, targets, window)


def describe_last(row: CoachingSession | None) -> str | None:
    if row is None:
        return None
    kind = KIND_LABELS.get(SessionKind(row.kind), row.kind) if row.kind in set(SessionKind) else row.kind
    return f"{row.held_on:%d %b %Y} ({kind})"


async def plan_view(session: AsyncSession, plan: ImprovementPlan, agent_name: str, tz: ZoneInfo) -> PlanView:
    rows = await coaching_plans.versions(session, pk(plan))
    people = await names(session, [r.changed_by for r in rows])
    return PlanView(
        plan_id=pk(plan),
        agent_name=agent_name,
        status=plan.status,
        version=plan.version,
        goals=tuple((g["goal"], g["target"]) for g in plan.goals),
        reviews=tuple(date.fromisoformat(d) for d in plan.reviews),
        started_on=plan.started_on,
        end_on=plan.end_on,
        versions=tuple(
            VersionView(
                r.version,
                r.change,
                r.status,
                r.changed_at.astimezone(tz),
                people.get(r.changed_by, "?"),
                r.acknowledged_at.astimezone(tz) if r.acknowledged_at else None,
            )
            for r in rows
        ),
    )
