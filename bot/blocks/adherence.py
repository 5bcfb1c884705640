"""Adherence breach messages (one per breach, updated in place), the batch notice, and the Excuse modal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.blocks.ids import ActionId, BlockId, CallbackId
from bot.blocks.kit import Block, clip, context, message, section

KIND_LABELS = {
    "late_login": "Late login",
    "early_logout": "Logged out early",
    "out_of_adherence": "Out of adherence",
    "long_break": "Break overrun",
    "unscheduled_offline": "Offline mid-shift",
}
EXCUSE_REASONS = {
    "system_outage": "System or tool outage",
    "meeting_overrun": "Meeting or training overran",
    "coaching": "Coaching or 1:1",
    "approved_leave": "Approved leave or time off",
    "wellbeing": "Wellbeing or personal",
    "schedule_error": "Schedule was wrong",
    "other": "Other",
}
NOTE_MAX = 500


@dataclass(frozen=True, slots=True)
class BreachView:
    breach_id: int
    agent_name: str
    kind: str
    started: datetime  # local time of the team
    minutes: int  # the whole out-of-adherence stretch so far (or in total, once ended)
    scheduled: str | None
    actual: str | None
    status: str  # open | resolved | acknowledged | excused | withdrawn
    ended: bool
    acted_by: str | None = None
    reason: str | None = None
    escalated: bool = False


def _headline(v: BreachView, *, named: bool) -> str:
    who = f"*{v.agent_name}*" if named else "An agent"
    label = KIND_LABELS.get(v.kind, v.kind.replace("_", " ").capitalize())
    doing = f"scheduled *{v.scheduled or '—'}*, is *{v.actual or 'offline'}*"
    if v.status == "withdrawn":
        why = "the schedule or the agent's states changed"
        return f"↩️ {who} — {label} from {v.started:%H:%M}: withdrawn, no longer a breach ({why})"
    if v.ended:
        icon = "✅" if v.status != "excused" else "🟦"
        return f"{icon} {who} — {label}: back in adherence after {v.minutes} min ({doing} from {v.started:%H:%M})"
    return f"🔴 {who} — {label}: {doing} · *{v.minutes} min* since {v.started:%H:%M}"


def _status_line(v: BreachView) -> str | None:
    if v.status == "acknowledged" and v.acted_by:
        return f"👀 Acknowledged by {v.acted_by}"
    if v.status == "excused":
        reason = EXCUSE_REASONS.get(v.reason or "", v.reason or "no reason given")
        return f"🟦 Excused by {v.acted_by or 'a lead'}: {reason} — left out of adherence"
    return None


def _buttons(v: BreachView) -> Block:
    value = str(v.breach_id)
    elements: list[dict[str, Any]] = []
    if not v.ended and v.status == "open":
        elements.append(_button("Acknowledge", ActionId.BREACH_ACK, value, style="primary"))
    if v.status != "excused":
        elements.append(_button("Excuse…", ActionId.BREACH_EXCUSE, value))
    elements.append(_button("Coach", ActionId.BREACH_COACH, value))
    return {"type": "actions", "block_id": f"{BlockId.BREACH_ACTIONS}.{v.breach_id}", "elements": elements}


def _button(text: str, action: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def render_breach(v: BreachView, *, named: bool = True, actions: bool = True) -> dict[str, Any]:
    """The breach's single message. ``named=False`` is the channel view under the team's "counts" privacy
    mode (the lead gets the named one by DM); the actions then live on the lead's copy only."""
    blocks: list[Block] = [section(_headline(v, named=named), block_id=f"{BlockId.BREACH}.{v.breach_id}")]
    status = _status_line(v)
    extras = [status] if status else []
    if v.escalated and not v.ended:
        extras.append("⬆️ Escalated to the operations manager")
    if extras:
        blocks.append(context(*extras))
    if actions and named and v.status != "withdrawn":
        blocks.append(_buttons(v))
    label = KIND_LABELS.get(v.kind, v.kind)
    who = v.agent_name if named else "An agent"
    state = "withdrawn" if v.status == "withdrawn" else "resolved" if v.ended else "open"
    return message(f"{who}: {label} ({v.minutes} min, {state})", blocks)


def render_batch(team_name: str, views: Sequence[BreachView], *, named: bool) -> dict[str, Any]:
    """One message for many breaches that start together (after an outage, say): the noise budget."""
    lines = [_headline(v, named=named) for v in views[:20]]
    more = len(views) - len(lines)
    text = f"⚠️ {len(views)} more agents out of adherence in {team_name}"
    blocks = [section(f"*{text}*"), section(clip("\n".join(lines), 3000))]
    if more > 0:
        blocks.append(context(f"…and {more} more"))
    blocks.append(context("Alerts are batched when many start at once; each is still tracked and counted."))
    return message(text, blocks)


def render_excuse_modal(breach_id: int, agent_name: str, kind: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CallbackId.BREACH_EXCUSE_FORM,
        "private_metadata": str(breach_id),
        "title": {"type": "plain_text", "text": "Excuse a breach"},
        "submit": {"type": "plain_text", "text": "Excuse"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(
                f"*{clip(agent_name, 200)}* — {KIND_LABELS.get(kind, kind)}. Excused time is left out of their "
                "adherence %."
            ),
            {
                "type": "input",
                "block_id": BlockId.EXCUSE_REASON,
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [
                        {"text": {"type": "plain_text", "text": label}, "value": code}
                        for code, label in EXCUSE_REASONS.items()
                    ],
                },
            },
            {
                "type": "input",
                "block_id": BlockId.EXCUSE_NOTE,
                "optional": True,
                "label": {"type": "plain_text", "text": "Note"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": NOTE_MAX,
                },
            },
        ],
    }


@dataclass(frozen=True, slots=True)
class ExcuseForm:
    breach_id: int
    reason: str
    note: str | None


def parse_excuse_form(private_metadata: str, values: Mapping[str, Any]) -> ExcuseForm | dict[str, str]:
    """The submitted Excuse modal, or field errors keyed by block id (sent back with response_action=errors)."""
    reason = ((values.get(BlockId.EXCUSE_REASON) or {}).get("value") or {}).get("selected_option") or {}
    code = reason.get("value")
    note = ((values.get(BlockId.EXCUSE_NOTE) or {}).get("value") or {}).get("value")
    errors: dict[str, str] = {}
    if code not in EXCUSE_REASONS:
        errors[BlockId.EXCUSE_REASON] = "Pick a reason."
    if note is not None and len(note) > NOTE_MAX:
        errors[BlockId.EXCUSE_NOTE] = f"Keep the note under {NOTE_MAX} characters."
    if code == "other" and not (note or "").strip():
        errors[BlockId.EXCUSE_NOTE] = "Say what happened when the reason is Other."
    if errors:
        return errors
    return ExcuseForm(int(private_metadata), str(code), (note or "").strip() or None)
