"""The huddle prompt (with its Check in button), the reminder DM, the check-in modal and its parser."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.blocks.ids import ActionId, BlockId, CallbackId
from bot.blocks.kit import Block, clip, context, escape, header, message, section
from bot.domain.huddle import MOOD_EMOJI, MOODS
from bot.domain.kpi import Scorecard
from bot.domain.metrics import RAG_EMOJI, format_value

TEXT_MAX = 500  # blockers and note, each
MOOD_LABELS = {1: "rough", 2: "not great", 3: "okay", 4: "good", 5: "great"}
NOTICES_SHOWN = 5


@dataclass(frozen=True, slots=True)
class PromptView:
    huddle_id: int
    team_name: str
    day: str  # "Wed 18 Nov"
    label: str  # "" | "second shift" | "ad hoc"
    closes: str  # local "09:30"
    late_after: str  # local "09:15"
    kpi_day: str  # "Tue 17 Nov"
    kpi_lines: tuple[str, ...] = ()
    breaches: int | None = 0  # None: the count could not be read when the prompt was built
    notices: tuple[tuple[str, int], ...] = ()  # (title, members still to acknowledge)
    focus: str | None = None
    closed: bool = False
    present: int = 0
    kpi_unavailable: bool = False  # the scorecard failed: the prompt says so instead of "no figures"
    cancelled: bool = False  # the lead skipped the day after the prompt was posted

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PromptView:
        fields = dict(data)
        fields["kpi_lines"] = tuple(fields.get("kpi_lines", ()))
        fields["notices"] = tuple((str(t), int(n)) for t, n in fields.get("notices", ()))
        return cls(**fields)

    def with_state(
        self, *, focus: str | None, closed: bool = False, present: int = 0, cancelled: bool = False
    ) -> PromptView:
        return replace(self, focus=focus, closed=closed, present=present, cancelled=cancelled)

    def signature(self) -> str:
        """What the message shows that can change after posting: a new one means the message needs an update."""
        return f"{hash_text(self.focus or '')}:{int(self.closed)}:{self.present}:{int(self.cancelled)}"


def hash_text(text: str) -> str:
    """A short stable digest (not Python's salted hash()): outbox keys must be the same on every replica."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def kpi_summary_lines(card: Scorecard) -> tuple[str, ...]:
    """One short line per metric with a figure: RAG, label, value (the full card is `/kpi team yesterday`)."""
    return tuple(
        f"{RAG_EMOJI[line.status]} {line.metric.label} {format_value(line.value, line.metric.unit)}"
        for line in card.lines
        if line.value is not None
    )


def _title(v: PromptView) -> str:
    suffix = f" ({v.label})" if v.label else ""
    return f"☀️ {v.team_name} huddle{suffix} — {v.day}"


def render_prompt(v: PromptView) -> dict[str, Any]:
    """The prompt. Every text a person or org.yml supplied is escaped: a focus of ``<!channel>`` stays text."""
    focus = (
        f"*Today's focus:* {clip(escape(v.focus), 600)}"
        if v.focus
        else "*Today's focus:* not set yet (leads: `/huddle focus …`)"
    )
    blocks: list[Block] = [header(_title(v)), section(focus, block_id=BlockId.HUDDLE_PROMPT)]
    if v.kpi_unavailable:
        kpis = "figures unavailable"
    else:
        kpis = "  ·  ".join(escape(line) for line in v.kpi_lines) if v.kpi_lines else "no figures"
    blocks.append(section(f"*KPIs {v.kpi_day}:* {kpis}"))
    alerts = f"⏱ *Open adherence alerts:* {'unavailable' if v.breaches is None else v.breaches}"
    if v.notices:
        shown = [f"• {clip(escape(title), 150)} — {n} still to acknowledge" for title, n in v.notices[:NOTICES_SHOWN]]
        if len(v.notices) > NOTICES_SHOWN:
            shown.append(f"…and {len(v.notices) - NOTICES_SHOWN} more")
        alerts += "\n📌 *Notices awaiting acknowledgement:*\n" + "\n".join(shown)
    blocks.append(section(alerts))
    team = escape(v.team_name)
    if v.cancelled:
        blocks.append(context("Called off by a team lead (`/huddle skip`): no check-ins, reminders or digest."))
        text = f"{team} huddle {v.day}: called off"
    elif v.closed:
        blocks.append(context(f"Check-ins closed at {v.closes} · {v.present} checked in · the digest is in the thread"))
        text = f"{team} huddle {v.day}: closed, {v.present} checked in"
    else:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{BlockId.HUDDLE_ACTIONS}.{v.huddle_id}",
                "elements": [_checkin_button(v.huddle_id)],
            }
        )
        blocks.append(
            context(f"Check in by {v.closes} (after {v.late_after} counts as late) — or reply in this thread.")
        )
        text = f"{team} huddle {v.day}: check in by {v.closes}"
    return message(text, blocks)


def _checkin_button(huddle_id: int) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Check in"},
        "style": "primary",
        "action_id": ActionId.HUDDLE_CHECKIN,
        "value": str(huddle_id),
    }


def render_reminder(huddle_id: int, team_name: str, channel: str, closes: str) -> dict[str, Any]:
    text = f"⏰ The {escape(team_name)} huddle closes at {closes} and you haven't checked in yet."
    return message(
        text,
        [
            section(f"{text} Check in here, with the button on the prompt in <#{channel}>, or reply in its thread."),
            {
                "type": "actions",
                "block_id": f"{BlockId.HUDDLE_ACTIONS}.{huddle_id}",
                "elements": [_checkin_button(huddle_id)],
            },
        ],
    )


@dataclass(frozen=True, slots=True)
class CheckInDraft:
    """What the modal shows: the huddle, and the agent's earlier answers when they edit."""

    huddle_id: int
    team_name: str
    day: str
    focus: str | None = None
    mood: int | None = None
    blockers: str | None = None
    note: str | None = None
    editing: bool = False


def _mood_option(m: int) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": f"{MOOD_EMOJI[m]} {m} — {MOOD_LABELS[m]}"}, "value": str(m)}


def _text_input(block_id: str, label: str, initial: str | None, placeholder: str) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": TEXT_MAX,
        "placeholder": {"type": "plain_text", "text": placeholder},
    }
    if initial:
        element["initial_value"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def render_checkin_modal(d: CheckInDraft) -> dict[str, Any]:
    mood: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": [_mood_option(m) for m in MOODS]}
    if d.mood in MOODS:
        mood["initial_option"] = _mood_option(d.mood)
    intro = f"*{clip(escape(d.team_name), 100)}* · {d.day}"
    if d.focus:
        intro += f"\nToday's focus: {clip(escape(d.focus), 600)}"
    return {
        "type": "modal",
        "callback_id": CallbackId.HUDDLE_CHECKIN_FORM,
        "private_metadata": str(d.huddle_id),
        "title": {"type": "plain_text", "text": "Huddle check-in"},
        "submit": {"type": "plain_text", "text": "Update" if d.editing else "Check in"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(intro),
            {
                "type": "input",
                "block_id": BlockId.HUDDLE_MOOD,
                "label": {"type": "plain_text", "text": "How are you feeling today?"},
                "element": mood,
            },
            _text_input(BlockId.HUDDLE_BLOCKERS, "Blockers", d.blockers, "Anything in your way?"),
            _text_input(BlockId.HUDDLE_NOTE, "Note", d.note, "Anything else for your lead"),
        ],
    }


@dataclass(frozen=True, slots=True)
class CheckInForm:
    huddle_id: int
    mood: int
    blockers: str | None
    note: str | None


def _value(values: Mapping[str, Any], block: str) -> dict[str, Any]:
    found = (values.get(block) or {}).get("value") or {}
    return found if isinstance(found, dict) else {}


def parse_checkin_form(private_metadata: str, values: Mapping[str, Any]) -> CheckInForm | dict[str, str]:
    """The submitted modal, or field errors keyed by block id (sent back with response_action=errors)."""
    selected = _value(values, BlockId.HUDDLE_MOOD).get("selected_option") or {}
    raw_mood = str(selected.get("value", ""))
    errors: dict[str, str] = {}
    texts: dict[str, str | None] = {}
    for block in (BlockId.HUDDLE_BLOCKERS, BlockId.HUDDLE_NOTE):
        text = (_value(values, block).get("value") or "").strip()
        if len(text) > TEXT_MAX:
            errors[block] = f"Keep it under {TEXT_MAX} characters."
        texts[block] = text or None
    if raw_mood not in {str(m) for m in MOODS}:
        errors[BlockId.HUDDLE_MOOD] = "Pick how you're feeling, 1 to 5."
    if errors:
        return errors
    return CheckInForm(int(private_metadata), int(raw_mood), texts[BlockId.HUDDLE_BLOCKERS], texts[BlockId.HUDDLE_NOTE])
