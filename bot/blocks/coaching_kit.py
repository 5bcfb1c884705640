"""Small Block Kit builders the coaching and plan forms share: inputs, buttons, reading submitted values, and
long user text split across sections (never clipped: the agent acknowledges every word of it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.blocks.ids import CallbackId
from bot.blocks.kit import MAX_SECTION_TEXT, Block, escape, section

MODAL_TITLE_MAX = 24  # Slack: modal title, submit and close texts


def chunks(text: str, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Split mrkdwn ``text`` into pieces of at most ``limit`` characters, cutting at a line break, else a space,
    else anywhere but inside an escape (``&amp;``): nothing is lost but the line break or space at each cut."""
    out: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = window.rfind("\n")
        if cut < limit // 2:  # no line break in the second half: a space will do
            cut = max(cut, window.rfind(" "))
        if cut > 0:
            out.append(text[:cut])
            text = text[cut + 1 :]
            continue
        cut = limit
        amp = text.rfind("&", cut - 4, cut)
        if amp > 0 and ";" not in text[amp:cut]:
            cut = amp
        out.append(text[:cut])
        text = text[cut:]
    out.append(text)
    return [piece for piece in out if piece.strip()]


def prose(heading: str | None, text: str) -> list[Block]:
    """User ``text`` (escaped), under a bold ``heading``, in as many sections as it needs."""
    body = escape(text)
    return [section(piece) for piece in chunks(f"*{heading}*\n{body}" if heading else body)]


def packed(lines: list[str]) -> list[Block]:
    """Lines (already escaped mrkdwn) packed into as few sections as hold them, none cut short."""
    return [section(piece) for piece in chunks("\n".join(lines))]


def text_input(
    block_id: str,
    label: str,
    *,
    multiline: bool = False,
    optional: bool = False,
    max_length: int = 3000,
    initial: str | None = None,
    placeholder: str | None = None,
    hint: str | None = None,
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    if placeholder:
        element["placeholder"] = {"type": "plain_text", "text": placeholder[:150]}
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint[:2000]}
    return block


def date_input(block_id: str, label: str, *, initial: date | None = None, optional: bool = False) -> Block:
    element: dict[str, Any] = {"type": "datepicker", "action_id": "value"}
    if initial:
        element["initial_date"] = initial.isoformat()
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def select_input(block_id: str, label: str, options: Mapping[str, str], *, initial: str | None = None) -> Block:
    choices = [{"text": {"type": "plain_text", "text": text}, "value": value} for value, text in options.items()]
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": choices}
    if initial in options:
        element["initial_option"] = next(c for c in choices if c["value"] == initial)
    return {"type": "input", "block_id": block_id, "label": {"type": "plain_text", "text": label}, "element": element}


def user_input(block_id: str, label: str) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "users_select", "action_id": "value"},
    }


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def modal(callback_id: str, title: str, blocks: list[Block], *, submit: str | None, metadata: dict[str, Any]) -> Block:
    view: Block = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(metadata, separators=(",", ":")),
        "title": {"type": "plain_text", "text": title[:MODAL_TITLE_MAX]},
        "close": {"type": "plain_text", "text": "Close" if submit is None else "Cancel"},
        "blocks": blocks,
    }
    if submit is not None:
        view["submit"] = {"type": "plain_text", "text": submit[:MODAL_TITLE_MAX]}
    return view


def render_loading() -> Block:
    """Opened at once when the real form takes longer than the trigger allows; views.update replaces it."""
    return modal(
        CallbackId.COACHING_FORM,
        "Loading…",
        [section(":hourglass_flowing_sand: Loading the form…")],
        submit=None,
        metadata={},
    )


def render_notice(text: str) -> Block:
    """The loading modal turned into a refusal or an error (the form could not be built)."""
    return modal(CallbackId.COACHING_FORM, "Rhythm", [section(text)], submit=None, metadata={})


def read_metadata(raw: str | None) -> dict[str, Any]:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _element(values: Mapping[str, Any], block_id: str) -> Mapping[str, Any]:
    return (values.get(block_id) or {}).get("value") or {}


def read_text(values: Mapping[str, Any], block_id: str) -> str | None:
    value = _element(values, block_id).get("value")
    return str(value) if value is not None else None


def read_date(values: Mapping[str, Any], block_id: str) -> date | None:
    raw = _element(values, block_id).get("selected_date")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def read_option(values: Mapping[str, Any], block_id: str) -> str | None:
    option = _element(values, block_id).get("selected_option") or {}
    value = option.get("value")
    return str(value) if value is not None else None


def read_user(values: Mapping[str, Any], block_id: str) -> str | None:
    value = _element(values, block_id).get("selected_user")
    return str(value) if value else None
