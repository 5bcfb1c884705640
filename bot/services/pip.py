"""Improvement plans from Slack: open and change them (each change a new version the agent acknowledges),
show them, and the agent's Acknowledge. Every read and change is audited, without the plan's text."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.coaching_pip import (
    RawPlanForm,
    field_errors,
    render_plan_dm,
    render_plan_modal,
    render_plan_saved,
    render_plan_status,
)
from bot.blocks.ids import BlockId
from bot.blocks.kit import escape
from bot.blocks.kpi import render_text
from bot.deps import Deps
from bot.domain.coaching_commands import PIP_HELP, CoachingQuery, Intent
from bot.domain.coaching_plans import PlanChange, PlanStatus, check_extension, next_status, validate_plan
from bot.domain.errors import UserFacingError
from bot.domain.models import MemberInfo
from bot.services.coaching import AckResult, Submitted
from bot.services.coaching_access import (
    OpenForm,
    agent_by_id,
    agent_by_slack,
    caller,
    check_lead,
    check_manage,
    home_team,
    local_today,
    submission,
    tz_of,
)
from bot.services.coaching_views import plan_view
from bot.store import audit, coaching, coaching_plans, outbox
from bot.store.coaching import Submission
from bot.store.coaching_tables import ImprovementPlan
from bot.store.tables import pk

_CHANGES = {Intent.PIP_EXTEND: PlanChange.EXTEND, Intent.PIP_PASS: PlanChange.PASS, Intent.PIP_CLOSE: PlanChange.CLOSE}


def plan_dm_key(plan_id: int, version: int) -> str:
    return f"coaching:plan:{plan_id}:v{version}"


async def _notify(
    deps: Deps, session: AsyncSession, plan: ImprovementPlan, member: MemberInfo, change: PlanChange, tz: ZoneInfo
) -> bool:
    """Queue the new version to the agent, to acknowledge (again). False when they have no Slack account."""
    if not member.slack_user_id:
        return False
    view = await plan_view(session, plan, member.name, tz)
    await outbox.enqueue(
        session,
        key=plan_dm_key(pk(plan), plan.version),
        channel=member.slack_user_id,
        kind="dm",
        payload=render_plan_dm(view, change.value),
        now=deps.clock.now(),
    )
    return True


async def plan_form(deps: Deps, *, user_id: str, slack_user_id: str, edit: bool) -> OpenForm:
    async with deps.sessions() as session:
        actor = await caller(session, user_id)
        check_lead(actor)
        member = await agent_by_slack(session, slack_user_id)
        await check_manage(session, actor, member)
        team = await home_team(session, member)
        plan = await coaching_plans.active_plan(session, member.id)
        if edit and plan is None:
            raise UserFacingError(f"{member.name} has no open plan to change; open one with `/pip open @agent`.")
        if not edit and plan is not None:
            raise UserFacingError(f"{member.name} already has an open plan (`#{plan.id}`); change it with `/pip edit`.")
        view = await plan_view(session, plan, member.name, tz_of(deps, team)) if plan else None
    modal = render_plan_modal(member.id, member.name, local_today(deps, team), view)
    if plan is None:
        return OpenForm(modal)
    read = {"actor": f"slack:{user_id}", "action": "pip.form.open", "subject": f"member:{member.id}"}
    return OpenForm(modal, {**read, "plan_id": plan.id})


async def save_plan(deps: Deps, *, user_id: str, form: RawPlanForm, view_id: str | None = None) -> Submitted:
    """Open a plan, or change its terms (a later end date is an extension). Bad input and refusals come back as
    field errors and change nothing; the same submission arriving again saves and sends nothing more."""
    now = deps.clock.now()

    def refuse(message: str, block: str = BlockId.PIP_GOALS) -> Submitted:
        return Submitted(errors={block: message})

    async with deps.sessions() as session:
        try:
            actor = await caller(session, user_id)
            check_lead(actor)
            if form.member_id is None:
                raise UserFacingError("This form lost track of the agent; please start again with `/pip open @agent`.")
            member = await agent_by_id(session, form.member_id)
            await check_manage(session, actor, member)
        except UserFacingError as exc:
            return refuse(exc.message)
        team = await home_team(session, member)
        if team is None:
            return refuse(f"{member.name} isn't on a team.")
        today = local_today(deps, team)
        plan = await coaching_plans.active_plan(session, member.id)
        current = plan if form.plan_id is not None and plan is not None and plan.id == form.plan_id else None
        draft = validate_plan(
            goals=form.goals,
            reviews=form.reviews,
            end_on=form.end_on,
            today=today,
            current_reviews=[date.fromisoformat(d) for d in current.reviews] if current else (),
            current_end=current.end_on if current else None,
        )
        if isinstance(draft, dict):
            return Submitted(errors=field_errors(draft))
        once = submission(user_id, view_id, form)
        if once is not None and not await coaching.claim_submission(session, once, now):
            return await _replayed(session, once, member)
        if form.plan_id is None:
            if plan is not None:
                return refuse(f"{member.name} already has an open plan (`#{plan.id}`).")
            change = PlanChange.OPEN
            try:
                plan = await coaching_plans.open_plan(
                    session, draft, member_id=member.id, team_id=team.id, by=actor.member_id, today=today, now=now
                )
            except IntegrityError:  # another lead opened one at the same moment
                await session.rollback()
                return refuse(f"{member.name} already has an open plan.")
        else:
            if current is None:
                return refuse("This plan has been closed or replaced since you opened it.")
            plan = current
            if form.version is not None and form.version != plan.version:
                return refuse(
                    "Someone changed this plan since you opened the form; close it and run `/pip edit` again."
                )
            # A later end date is an extension, whatever else changed: it follows the extension rules and status.
            change = PlanChange.EXTEND if draft.end_on > plan.end_on else PlanChange.EDIT
            try:
                if change is PlanChange.EXTEND:
                    check_extension(plan.end_on, draft.end_on, today=today)
                status = next_status(PlanStatus(plan.status), change)
            except UserFacingError as exc:
                return refuse(exc.message, BlockId.PIP_END)
            if not await coaching_plans.change_plan(
                session, plan, change, status=status, by=actor.member_id, now=now, draft=draft
            ):
                return refuse("Someone changed this plan meanwhile; reopen it.")
        if once is not None:
            await coaching.note_submission(session, once, f"plan:{plan.id}:v{plan.version}")
        audit.record(
            session,
            actor=f"slack:{user_id}",
            action=f"pip.{change.value}",
            subject=f"member:{member.id}",
            plan_id=plan.id,
            version=plan.version,
        )
        dm_sent = await _notify(deps, session, plan, member, change, tz_of(deps, team))
        await session.commit()
    deps.outbox_ready.send()
    return Submitted(view=render_plan_saved(member.name, pk(plan), plan.version, dm_sent))


async def _replayed(session: AsyncSession, once: Submission, member: MemberInfo) -> Submitted:
    """The answer to a submission already saved: the first save's screen (nothing is written or sent again)."""
    record = await coaching.submitted(session, once) or ""
    plan_id, _, version = record.removeprefix("plan:").partition(":v")
    if not (plan_id.isdigit() and version.isdigit()):
        return Submitted(errors={BlockId.PIP_GOALS: "This form was already submitted; close it."})
    return Submitted(view=render_plan_saved(member.name, int(plan_id), int(version), member.slack_user_id is not None))


async def answer_pip(deps: Deps, *, user_id: str, query: CoachingQuery) -> dict[str, Any]:
    """``/pip @agent | me`` (show) and ``/pip extend | pass | close @agent`` (the forms open in the handler)."""
    if query.intent is Intent.HELP:
        return {**render_text(PIP_HELP), "response_type": "ephemeral"}
    if query.intent is Intent.PIP_SHOW:
        payload = await show_plan(deps, user_id=user_id, slack_user_id=query.slack_user_id)
    elif query.intent in _CHANGES:
        assert query.slack_user_id is not None
        text = await change_status(
            deps, user_id=user_id, slack_user_id=query.slack_user_id, change=_CHANGES[query.intent], end_on=query.end_on
        )
        payload = render_text(text)
    else:
        raise UserFacingError(PIP_HELP)
    return {**payload, "response_type": "ephemeral"}


async def show_plan(deps: Deps, *, user_id: str, slack_user_id: str | None) -> dict[str, Any]:
    async with deps.sessions() as session:
        actor = await caller(session, user_id)
        if slack_user_id is None or slack_user_id == user_id:
            member = await agent_by_id(session, actor.member_id)
        else:
            member = await agent_by_slack(session, slack_user_id)
            await check_manage(session, actor, member)
        plan = await coaching_plans.latest_plan(session, member.id)
        tz = tz_of(deps, await home_team(session, member))
        view = await plan_view(session, plan, member.name, tz) if plan else None
        reviews = await coaching.count_reviews(session, pk(plan)) if plan else 0
        audit.record(
            session,
            actor=f"slack:{user_id}",
            action="pip.read",
            subject=f"member:{member.id}",
            plan_id=plan.id if plan else None,
        )
        await session.commit()
    return render_plan_status(view, member.name, reviews)


async def change_status(
    deps: Deps, *, user_id: str, slack_user_id: str, change: PlanChange, end_on: date | None
) -> str:
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor = await caller(session, user_id)
        check_lead(actor)
        member = await agent_by_slack(session, slack_user_id)
        await check_manage(session, actor, member)
        team = await home_team(session, member)
        plan = await coaching_plans.active_plan(session, member.id) or await coaching_plans.latest_plan(
            session, member.id
        )
        if plan is None:
            raise UserFacingError(f"{member.name} has no improvement plan.")
        status = next_status(PlanStatus(plan.status), change)
        if change is PlanChange.EXTEND:
            assert end_on is not None
            check_extension(plan.end_on, end_on, today=local_today(deps, team))
        if not await coaching_plans.change_plan(
            session, plan, change, status=status, by=actor.member_id, now=now, end_on=end_on
        ):
            raise UserFacingError("Someone changed this plan at the same moment; check it with `/pip @agent`.")
        audit.record(
            session,
            actor=f"slack:{user_id}",
            action=f"pip.{change.value}",
            subject=f"member:{member.id}",
            plan_id=plan.id,
            version=plan.version,
        )
        dm_sent = await _notify(deps, session, plan, member, change, tz_of(deps, team))
        await session.commit()
    deps.outbox_ready.send()
    done = {
        PlanChange.EXTEND: f"extended to {end_on:%d %b %Y}" if end_on else "extended",
        PlanChange.PASS: "marked passed",
        PlanChange.CLOSE: "closed",
    }[change]
    tail = " They have been sent it to acknowledge." if dm_sent else ""
    return f"✅ {escape(member.name)}'s improvement plan `#{plan.id}` {done} (version {plan.version}).{tail}"


async def acknowledge_plan(deps: Deps, *, user_id: str, plan_id: int, version: int) -> AckResult:
    """The agent acknowledges one version of their plan, once; only the latest version can be acknowledged."""
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor = await caller(session, user_id)
        plan = await session.get(ImprovementPlan, plan_id)
        if plan is None:
            return AckResult("That plan no longer exists.")
        if plan.member_id != actor.member_id:
            return AckResult("Only the agent this plan is for can acknowledge it.")
        if version != plan.version:
            return AckResult(
                f"This plan has changed since (now version {plan.version}); acknowledge the latest version I sent you."
            )
        won = await coaching_plans.acknowledge_version(session, plan_id, version, now)
        audit.record(  # every click shows the plan again: a read, when not the acknowledgement itself
            session,
            actor=f"slack:{user_id}",
            action="pip.ack" if won else "pip.read",
            subject=f"member:{actor.member_id}",
            plan_id=plan_id,
            version=version,
        )
        await session.commit()
        row = await coaching_plans.get_version(session, plan_id, version)
        assert row is not None and row.acknowledged_at is not None
        tz = tz_of(deps, await home_team(session, await agent_by_id(session, actor.member_id)))
        view = await plan_view(session, plan, actor.name, tz)
    at = row.acknowledged_at.astimezone(tz)
    text = "Thanks — acknowledged." if won else f"You already acknowledged this version on {at:%a %d %b}."
    return AckResult(text, render_plan_dm(view, row.change, acknowledged_at=at))
