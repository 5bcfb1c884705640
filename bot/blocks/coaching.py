"""The 1:1 session form, the agent's DM (with Acknowledge), history, what's due, and the follow-up DM.

Everything people typed (summary, notes, actions, names) is escaped for mrkdwn, and text the agent acknowledges
is never clipped: it is split across as many sections as it needs (the form's limits keep that within Slack's
50 blocks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.blocks.coaching_kit import (
    button,
    date_input,
    modal,
    packed,
    prose,
    read_date,
    read_metadata,
    read_option,
    read_text,
    read_user,
    select_input,
    text_input,
    user_input,
)
from bot.blocks.ids import ActionId, BlockId, CallbackId
from bot.blocks.kit import MAX_MESSAGE_BLOCKS, Block, clip, context, divider, escape, header, message, section
from bot.domain import coaching as rules
from bot.domain.coaching import KIND_LABELS, SessionKind
from bot.domain.metrics import Unit, format_value

# Field name (bot.domain.coaching) → the block that shows its error.
FIELD_BLOCKS = {
    "agent": BlockId.COACHING_AGENT,
    "kind": BlockId.COACHING_KIND,
    "date": BlockId.COACHING_DATE,
    "summary": BlockId.COACHING_SUMMARY,
    "notes": BlockId.COACHING_NOTES,
    "strengths": BlockId.COACHING_STRENGTHS,
    "improve": BlockId.COACHING_IMPROVE,
    "actions": BlockId.COACHING_ACTIONS,
    "follow_up": BlockId.COACHING_FOLLOW_UP,
}
ACTIONS_HINT = "One per line: what | owner (agent or lead) | due date YYYY-MM-DD. Owner and date are optional."


@dataclass(frozen=True, slots=True)
class SessionFormContext:
    today: date
    notes_enabled: bool
    member_id: int | None = None  # None: the form asks who
    agent_name: str | None = None
    team_name: str | None = None
    kind: SessionKind = SessionKind.ONE_ON_ONE
    last_session: str | None = None  # "04 Nov 2026 (Coaching)"
    open_actions: int = 0
    active_plan: bool = False


def render_session_modal(ctx: SessionFormContext) -> dict[str, Any]:
    blocks: list[Block] = []
    if ctx.member_id is None:
        blocks.append(user_input(BlockId.COACHING_AGENT, "Agent"))
    else:
        who = f"*{escape(clip(ctx.agent_name or '?', 200))}*" + (f" · {escape(ctx.team_name)}" if ctx.team_name else "")
        facts = [f"last session {ctx.last_session}" if ctx.last_session else "no sessions logged yet"]
        if ctx.open_actions:
            facts.append(f"{ctx.open_actions} open action item{'s' * (ctx.open_actions != 1)}")
        if ctx.active_plan:
            facts.append("on an improvement plan")
        blocks += [section(f"1:1 record for {who}"), context(" · ".join(facts))]
    blocks += [
        select_input(BlockId.COACHING_KIND, "Kind", {k.value: v for k, v in KIND_LABELS.items()}, initial=ctx.kind),
        date_input(BlockId.COACHING_DATE, "Date held", initial=ctx.today),
        text_input(
            BlockId.COACHING_SUMMARY,
            "Shared summary",
            multiline=True,
            max_length=rules.SUMMARY_MAX,
            hint="The agent receives this and acknowledges it.",
        ),
    ]
    if ctx.notes_enabled:
        blocks.append(
            text_input(
                BlockId.COACHING_NOTES,
                "Private notes",
                multiline=True,
                optional=True,
                max_length=rules.NOTES_MAX,
                hint="Leads and managers only; never shown to the agent. Encrypted at rest.",
            )
        )
    else:
        blocks.append(context("🔒 Private notes are off until your admin sets RHYTHM_ENCRYPTION_KEY."))
    blocks += [
        text_input(
            BlockId.COACHING_STRENGTHS, "Strengths", multiline=True, optional=True, max_length=rules.STRENGTHS_MAX
        ),
        text_input(
            BlockId.COACHING_IMPROVE, "Areas to improve", multiline=True, optional=True, max_length=rules.IMPROVE_MAX
        ),
        text_input(
            BlockId.COACHING_ACTIONS,
            "Action items",
            multiline=True,
            optional=True,
            max_length=rules.ACTIONS_MAX,
            placeholder="Shadow a senior on refunds | agent | 2026-11-25",
            hint=ACTIONS_HINT,
        ),
        date_input(BlockId.COACHING_FOLLOW_UP, "Follow-up date", optional=True),
        context("A snapshot of the agent's KPIs (last 14 days) is attached when you save."),
    ]
    return modal(CallbackId.COACHING_FORM, "Log a 1:1", blocks, submit="Save", metadata={"member_id": ctx.member_id})


@dataclass(frozen=True, slots=True)
class RawSessionForm:
    """What the modal sent, before the rules: the agent is resolved and the date checked in the service."""

    member_id: int | None
    slack_user_id: str | None
    kind: str | None
    held_on: date | None
    summary: str | None
    notes: str | None
    strengths: str | None
    improve: str | None
    actions: str | None
    follow_up_on: date | None


def read_session_form(private_metadata: str | None, values: Mapping[str, Any]) -> RawSessionForm:
    member_id = read_metadata(private_metadata).get("member_id")
    return RawSessionForm(
        member_id=member_id if isinstance(member_id, int) else None,
        slack_user_id=read_user(values, BlockId.COACHING_AGENT),
        kind=read_option(values, BlockId.COACHING_KIND),
        held_on=read_date(values, BlockId.COACHING_DATE),
        summary=read_text(values, BlockId.COACHING_SUMMARY),
        notes=read_text(values, BlockId.COACHING_NOTES),
        strengths=read_text(values, BlockId.COACHING_STRENGTHS),
        improve=read_text(values, BlockId.COACHING_IMPROVE),
        actions=read_text(values, BlockId.COACHING_ACTIONS),
        follow_up_on=read_date(values, BlockId.COACHING_FOLLOW_UP),
    )


def field_errors(errors: Mapping[str, str], *, has_agent_block: bool) -> dict[str, str]:
    """Rule errors keyed by the form's block ids; an error without a visible block goes on the summary."""
    out: dict[str, str] = {}
    for name, text in errors.items():
        block = FIELD_BLOCKS.get(name, BlockId.COACHING_SUMMARY)
        if block == BlockId.COACHING_AGENT and not has_agent_block:
            block = BlockId.COACHING_SUMMARY
        out[block] = out[block] + " " + text if block in out else text
    return out


@dataclass(frozen=True, slots=True)
class ActionView:
    item_id: int
    text: str
    owner: str
    due_on: date | None
    done: bool = False


@dataclass(frozen=True, slots=True)
class SessionView:
    session_id: int
    agent_name: str
    lead_name: str
    kind: str
    held_on: date
    summary: str
    strengths: str | None = None
    improve: str | None = None
    actions: tuple[ActionView, ...] = ()
    follow_up_on: date | None = None
    acknowledged_at: datetime | None = None  # local time
    notes: str | None = None  # only ever set for a lead's view
    notes_locked: bool = False  # notes exist but cannot be opened with the configured key
    evidence: dict[str, Any] = field(default_factory=dict)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(SessionKind(kind), kind) if kind in set(SessionKind) else kind


def action_line(a: ActionView) -> str:
    due = f" · due {a.due_on:%d %b}" if a.due_on else ""
    mark = "✅" if a.done else "▫️"
    return f"{mark} `#{a.item_id}` {escape(a.text)} _({a.owner}{due})_"


def evidence_line(evidence: Mapping[str, Any], limit: int = 6) -> str | None:
    metrics = list(evidence.get("metrics") or [])
    if not metrics:
        return None
    parts = [f"{m['label']} {format_value(m['value'], Unit(m['unit']))}" for m in metrics[:limit]]
    return "📊 KPIs then (14 days): " + " · ".join(parts)


def _body_blocks(v: SessionView) -> list[Block]:
    blocks = prose("Summary", v.summary)
    if v.strengths:
        blocks += prose("Strengths", v.strengths)
    if v.improve:
        blocks += prose("Areas to improve", v.improve)
    if v.actions:
        blocks += packed(["*Action items*", *(action_line(a) for a in v.actions)])
    return blocks


def render_session_dm(v: SessionView) -> dict[str, Any]:
    """The agent's copy: the shared parts only (never private notes), every word of them, and Acknowledge
    until they have."""
    title = f"Your {kind_label(v.kind)} with {v.lead_name} on {v.held_on:%a %d %b}"
    blocks: list[Block] = [header(title), *_body_blocks(v)]
    if v.follow_up_on:
        blocks.append(context(f"Follow-up on {v.follow_up_on:%a %d %b %Y}"))
    blocks.append(_ack_block(v))
    assert len(blocks) <= MAX_MESSAGE_BLOCKS, "the form's length limits keep a session within one message"
    return message(f"{title}: please read and acknowledge", blocks)


def _ack_block(v: SessionView) -> Block:
    if v.acknowledged_at is not None:
        return context(f"✅ You acknowledged this on {v.acknowledged_at:%a %d %b %H:%M}")
    return {
        "type": "actions",
        "block_id": f"{BlockId.COACHING_DM_ACTIONS}.{v.session_id}",
        "elements": [button("Acknowledge", ActionId.COACHING_ACK, str(v.session_id), style="primary")],
    }


def _history_blocks(v: SessionView, *, lead_view: bool) -> list[Block]:
    ack = f"✅ acknowledged {v.acknowledged_at:%d %b}" if v.acknowledged_at else "⏳ not yet acknowledged"
    head = f"*{v.held_on:%a %d %b %Y} · {kind_label(v.kind)}* with {escape(v.lead_name)} · {ack}"
    blocks: list[Block] = [section(head), *_body_blocks(v)]
    extras = []
    if lead_view:
        if v.notes:
            blocks += prose("🔒 Private notes", v.notes)
        elif v.notes_locked:
            extras.append("🔒 Private notes can't be opened: they were encrypted with a key no longer configured.")
        if line := evidence_line(v.evidence):
            extras.append(line)
    if v.follow_up_on:
        extras.append(f"Follow-up {v.follow_up_on:%d %b %Y}")
    if extras:
        blocks.append(context(*extras))
    return blocks


def render_history(agent_name: str, sessions: Sequence[SessionView], *, lead_view: bool) -> dict[str, Any]:
    """Newest first, each session whole; sessions that no longer fit one message are left out, and said so."""
    title = f"Coaching history: {agent_name}"
    if not sessions:
        return message(
            f"{title}: nothing logged yet", [section(f"No coaching sessions logged for *{escape(agent_name)}* yet.")]
        )
    blocks: list[Block] = [header(title)]
    footer = (
        []
        if lead_view
        else [context("You see the shared summary of each session; your leader's private notes stay private.")]
    )
    shown = 0
    for v in sessions:
        more = [*_history_blocks(v, lead_view=lead_view), divider()]
        if len(blocks) + len(more) + len(footer) + 1 > MAX_MESSAGE_BLOCKS:
            break
        blocks += more
        shown += 1
    if shown < len(sessions):
        footer.append(context(f"{len(sessions) - shown} older session(s) didn't fit in one message and are not shown."))
    return message(f"{title} ({shown} session{'s' * (shown != 1)})", blocks + footer)


def render_saved(agent_name: str, session_id: int, actions: int, follow_up_on: date | None, dm_sent: bool) -> Block:
    """The modal's final screen after Save."""
    name = escape(agent_name)
    lines = [f"✅ Saved the session with *{name}* (`#{session_id}`)."]
    if actions:
        lines.append(f"{actions} action item{'s' * (actions != 1)} recorded; close one with `/1on1 done NUMBER`.")
    if follow_up_on:
        lines.append(f"I'll remind you on {follow_up_on:%a %d %b} with their KPI change since today.")
    lines.append(
        f"{name} has been sent the shared summary to acknowledge."
        if dm_sent
        else f"{name} has no Slack account on the roster, so no summary was sent."
    )
    return modal(CallbackId.COACHING_FORM, "Session saved", [section("\n".join(lines))], submit=None, metadata={})
