"""Logging a coaching session from Slack: the form, saving it (evidence, DM to the agent, audit), the agent's
Acknowledge, and closing an action item. Every read and write of coaching data is audited, without its text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.coaching import (
    RawSessionForm,
    SessionFormContext,
    field_errors,
    render_saved,
    render_session_dm,
    render_session_modal,
)
from bot.blocks.ids import BlockId
from bot.blocks.kit import escape
from bot.crypto import cipher_from
from bot.deps import Deps
from bot.domain.coaching import SessionKind, validate_session
from bot.domain.coaching_effect import evidence_window
from bot.domain.errors import UserFacingError
from bot.domain.models import MemberInfo
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
from bot.services.coaching_views import describe_last, kpi_evidence, load_session_view, names
from bot.store import audit, coaching, coaching_plans, outbox
from bot.store.coaching import Submission
from bot.store.coaching_tables import CoachingSession
from bot.store.tables import pk


def session_dm_key(session_id: int) -> str:
    return f"coaching:session:{session_id}:dm"


async def session_form(
    deps: Deps, *, user_id: str, slack_user_id: str | None, kind: SessionKind = SessionKind.ONE_ON_ONE
) -> OpenForm:
    """The modal for a new session; raises a polite refusal for anyone but the agent's leaders (or an admin).
    A handful of indexed reads, so the handler can open it within the trigger's 3 seconds."""
    notes_enabled = cipher_from(deps.settings) is not None
    async with deps.sessions() as session:
        actor = await caller(session, user_id)
        check_lead(actor)
        if slack_user_id is None:
            team = await home_team(session, await agent_by_id(session, actor.member_id))
            return OpenForm(render_session_modal(SessionFormContext(local_today(deps, team), notes_enabled, kind=kind)))
        member = await agent_by_slack(session, slack_user_id)
        await check_manage(session, actor, member)
        team = await home_team(session, member)
        last = await coaching.latest_session(session, member.id)
        open_count = await coaching.count_open_items(session, member.id)
        plan = await coaching_plans.active_plan(session, member.id)
    ctx = SessionFormContext(
        today=local_today(deps, team),
        notes_enabled=notes_enabled,
        member_id=member.id,
        agent_name=member.name,
        team_name=team.name if team else None,
        kind=kind,
        last_session=describe_last(last),
        open_actions=open_count,
        active_plan=plan is not None,
    )
    # The form shows facts from their record (last session, open items, plan): a read, once it is on screen.
    read = {"actor": f"slack:{user_id}", "action": "coaching.form.open", "subject": f"member:{member.id}"}
    return OpenForm(render_session_modal(ctx), read)


@dataclass(frozen=True, slots=True)
class Submitted:
    errors: dict[str, str] | None = None  # block id → message: sent back with response_action=errors
    view: dict[str, Any] | None = None  # the "saved" screen


async def save_session(deps: Deps, *, user_id: str, form: RawSessionForm, view_id: str | None = None) -> Submitted:
    """Validate and save a submitted session; refusals and bad input come back as field errors and change
    nothing. On success: the session, its action items, the KPI evidence, the agent's DM and the audit row
    commit together. The same submission arriving again (Slack's view id, same user and content: a resubmit
    after a slow save) saves nothing more and answers with the first save's screen."""
    cipher = cipher_from(deps.settings)
    has_agent_block = form.member_id is None
    now = deps.clock.now()

    def refuse(message: str, block: str = BlockId.COACHING_SUMMARY) -> Submitted:
        return Submitted(errors={block: message})

    async with deps.sessions() as session:
        try:
            actor = await caller(session, user_id)
            check_lead(actor)
            if form.member_id is not None:
                member = await agent_by_id(session, form.member_id)
            elif form.slack_user_id:
                member = await agent_by_slack(session, form.slack_user_id)
            else:
                return refuse("Pick the agent.", BlockId.COACHING_AGENT)
            await check_manage(session, actor, member)
        except UserFacingError as exc:
            return refuse(exc.message, BlockId.COACHING_AGENT if has_agent_block else BlockId.COACHING_SUMMARY)
        team = await home_team(session, member)
        if team is None:
            return refuse(f"{member.name} isn't on a team, so there is no team to record the session under.")
        draft = validate_session(
            kind=form.kind,
            held_on=form.held_on,
            summary=form.summary,
            notes=form.notes,
            strengths=form.strengths,
            improve=form.improve,
            actions=form.actions,
            follow_up_on=form.follow_up_on,
            today=local_today(deps, team),
            notes_allowed=cipher is not None,
        )
        if isinstance(draft, dict):
            return Submitted(errors=field_errors(draft, has_agent_block=has_agent_block))
        once = submission(user_id, view_id, form)
        if once is not None and not await coaching.claim_submission(session, once, now):
            return await _replayed(session, once, member)
        plan = await coaching_plans.active_plan(session, member.id)
        if draft.kind is SessionKind.PIP_REVIEW and plan is None:
            return refuse(
                f"{member.name} has no open improvement plan; open one with `/pip open`.", BlockId.COACHING_KIND
            )
        evidence = await kpi_evidence(session, member.id, team.id, evidence_window(draft.held_on))
        row, items = await coaching.add_session(
            session,
            draft,
            member_id=member.id,
            team_id=team.id,
            lead_id=actor.member_id,
            plan_id=plan.id if plan and draft.kind is SessionKind.PIP_REVIEW else None,
            notes=cipher.seal(draft.notes) if cipher and draft.notes else None,
            evidence=evidence,
        )
        session_id = pk(row)
        if once is not None:
            await coaching.note_submission(session, once, f"session:{session_id}")
        audit.record(
            session,
            actor=f"slack:{user_id}",
            action="coaching.session.create",
            subject=f"member:{member.id}",
            session_id=session_id,
            kind=row.kind,
            action_items=len(items),
            private_notes=row.private_notes is not None,
        )
        dm_sent = member.slack_user_id is not None
        if member.slack_user_id:
            view = await load_session_view(session, row, tz_of(deps, team))
            await outbox.enqueue(
                session,
                key=session_dm_key(session_id),
                channel=member.slack_user_id,
                kind="dm",
                payload=render_session_dm(view),
                now=now,
            )
        await session.commit()
    deps.outbox_ready.send()
    return Submitted(view=render_saved(member.name, session_id, len(items), draft.follow_up_on, dm_sent))


async def _replayed(session: AsyncSession, once: Submission, member: MemberInfo) -> Submitted:
    """The answer to a submission already saved: the first save's screen (nothing is written or sent again)."""
    record = await coaching.submitted(session, once)
    row = None
    if record and record.startswith("session:"):
        row = await session.get(CoachingSession, int(record.removeprefix("session:")))
    if row is None:
        return Submitted(errors={BlockId.COACHING_SUMMARY: "This form was already submitted; close it."})
    items = (await coaching.items_for(session, [pk(row)]))[pk(row)]
    dm_sent = member.slack_user_id is not None
    return Submitted(view=render_saved(member.name, pk(row), len(items), row.follow_up_on, dm_sent))


@dataclass(frozen=True, slots=True)
class AckResult:
    text: str
    message: dict[str, Any] | None = None  # the DM re-rendered, to replace the one clicked


async def acknowledge_session(deps: Deps, *, user_id: str, session_id: int) -> AckResult:
    """The agent confirms they have read their record; recorded once however often they click. Only the agent
    themselves can acknowledge. Every click shows the record again, so every click is audited (a read)."""
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor = await caller(session, user_id)
        row = await coaching.get_session(session, session_id)
        if row is None:
            return AckResult("That record no longer exists.")
        if row.member_id != actor.member_id:
            return AckResult("Only the agent this record is about can acknowledge it.")
        won = await coaching.acknowledge(session, session_id, actor.member_id, now)
        audit.record(
            session,
            actor=f"slack:{user_id}",
            action="coaching.session.ack" if won else "coaching.session.read",
            subject=f"member:{actor.member_id}",
            session_id=session_id,
        )
        await session.commit()
        await session.refresh(row)
        team = await home_team(session, await agent_by_id(session, actor.member_id))
        view = await load_session_view(session, row, tz_of(deps, team))
    assert view.acknowledged_at is not None
    text = "Thanks — acknowledged." if won else f"You already acknowledged this on {view.acknowledged_at:%a %d %b}."
    return AckResult(text, render_session_dm(view))


async def close_action_item(deps: Deps, *, user_id: str, item_id: int) -> str:
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor = await caller(session, user_id)
        check_lead(actor)
        item = await coaching.get_item(session, item_id)
        if item is None:
            raise UserFacingError(f"There is no action item #{item_id}. `/1on1 due` lists the open ones.")
        member = await agent_by_id(session, item.member_id)
        await check_manage(session, actor, member)
        won = await coaching.close_item(session, item_id, actor.member_id, now)
        audit.record(
            session,
            actor=f"slack:{user_id}",
            action="coaching.action.done" if won else "coaching.action.read",
            subject=f"member:{member.id}",
            item_id=item_id,
        )
        if not won:
            closer = (await names(session, [item.done_by] if item.done_by else [])).get(item.done_by or 0, "someone")
        await session.commit()
    if not won:
        return f"#{item_id} was already closed by {escape(closer)}; nothing changed."
    return f"✅ Closed `#{item_id}` for {escape(member.name)}: {escape(item.text)}"
