"""Improvement plans and their versions: open, change (a new version each time), acknowledge a version once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.domain.coaching_plans import ACTIVE, PlanChange, PlanDraft, PlanStatus
from bot.store.coaching_tables import CoachingSession, ImprovementPlan, ImprovementPlanVersion
from bot.store.tables import pk

_ACTIVE = [s.value for s in ACTIVE]


def _goals(draft: PlanDraft) -> list[dict[str, str]]:
    return [{"goal": g.goal, "target": g.target} for g in draft.goals]


async def active_plan(session: AsyncSession, member_id: int) -> ImprovementPlan | None:
    query = select(ImprovementPlan).where(
        col(ImprovementPlan.member_id) == member_id, col(ImprovementPlan.status).in_(_ACTIVE)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def latest_plan(session: AsyncSession, member_id: int) -> ImprovementPlan | None:
    """The active plan, else the most recent finished one."""
    query = (
        select(ImprovementPlan)
        .where(col(ImprovementPlan.member_id) == member_id)
        .order_by(col(ImprovementPlan.status).in_(_ACTIVE).desc(), col(ImprovementPlan.id).desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


def _version(plan: ImprovementPlan, change: PlanChange, by: int, now: datetime) -> ImprovementPlanVersion:
    return ImprovementPlanVersion(
        plan_id=pk(plan),
        version=plan.version,
        change=change.value,
        status=plan.status,
        goals=list(plan.goals),
        reviews=list(plan.reviews),
        end_on=plan.end_on,
        changed_by=by,
        changed_at=now,
    )


async def open_plan(
    session: AsyncSession, draft: PlanDraft, *, member_id: int, team_id: int, by: int, today: date, now: datetime
) -> ImprovementPlan:
    """Insert a plan and its first version. The partial unique index refuses a second active plan (the
    caller checks first and treats an IntegrityError as the race it is)."""
    plan = ImprovementPlan(
        member_id=member_id,
        team_id=team_id,
        opened_by=by,
        status=PlanStatus.OPEN.value,
        version=1,
        goals=_goals(draft),
        reviews=[d.isoformat() for d in draft.reviews],
        started_on=today,
        end_on=draft.end_on,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    await session.flush()
    session.add(_version(plan, PlanChange.OPEN, by, now))
    await session.flush()
    return plan


async def change_plan(
    session: AsyncSession,
    plan: ImprovementPlan,
    change: PlanChange,
    *,
    status: PlanStatus,
    by: int,
    now: datetime,
    draft: PlanDraft | None = None,
    end_on: date | None = None,
) -> bool:
    """Bump the plan to a new version, only if nobody else changed it since it was read (optimistic lock on
    the version). False: a concurrent change won; nothing was written."""
    values: dict[str, object] = {"status": status.value, "version": plan.version + 1, "updated_at": now}
    if draft is not None:
        values.update(goals=_goals(draft), reviews=[d.isoformat() for d in draft.reviews], end_on=draft.end_on)
    if end_on is not None:
        values["end_on"] = end_on
    if status not in ACTIVE:
        values["finished_at"] = now
    won = await session.execute(
        update(ImprovementPlan)
        .where(col(ImprovementPlan.id) == plan.id, col(ImprovementPlan.version) == plan.version)
        .values(**values)
        .returning(col(ImprovementPlan.id))
    )
    if won.first() is None:
        return False
    await session.refresh(plan)
    session.add(_version(plan, change, by, now))
    await session.flush()
    return True


async def versions(session: AsyncSession, plan_id: int) -> list[ImprovementPlanVersion]:
    query = (
        select(ImprovementPlanVersion)
        .where(col(ImprovementPlanVersion.plan_id) == plan_id)
        .order_by(col(ImprovementPlanVersion.version))
    )
    return list((await session.execute(query)).scalars())


async def get_version(session: AsyncSession, plan_id: int, version: int) -> ImprovementPlanVersion | None:
    query = select(ImprovementPlanVersion).where(
        col(ImprovementPlanVersion.plan_id) == plan_id, col(ImprovementPlanVersion.version) == version
    )
    return (await session.execute(query)).scalar_one_or_none()


async def acknowledge_version(session: AsyncSession, plan_id: int, version: int, now: datetime) -> bool:
    won = await session.execute(
        update(ImprovementPlanVersion)
        .where(
            col(ImprovementPlanVersion.plan_id) == plan_id,
            col(ImprovementPlanVersion.version) == version,
            col(ImprovementPlanVersion.acknowledged_at).is_(None),
        )
        .values(acknowledged_at=now)
        .returning(col(ImprovementPlanVersion.id))
    )
    return won.first() is not None


async def purge_plans_before(session: AsyncSession, cutoff: date) -> list[int]:
    """Delete finished plans that ended before ``cutoff`` (active plans are never purged); returns their ids."""
    query = select(col(ImprovementPlan.id)).where(
        col(ImprovementPlan.end_on) < cutoff, col(ImprovementPlan.status).not_in(_ACTIVE)
    )
    ids = [i for i in (await session.execute(query)).scalars() if i is not None]
    if ids:
        await session.execute(update(CoachingSession).where(col(CoachingSession.plan_id).in_(ids)).values(plan_id=None))
        await session.execute(delete(ImprovementPlanVersion).where(col(ImprovementPlanVersion.plan_id).in_(ids)))
        await session.execute(delete(ImprovementPlan).where(col(ImprovementPlan.id).in_(ids)))
    return ids
