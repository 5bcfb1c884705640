"""The notice modal (``/notice new`` and ``/notice edit N``) and its pure parser, which mirror each other.

The parser returns a :class:`NoticeForm` or field errors keyed by block id (answered with
``response_action=errors``), so a bad form changes nothing and tells the user which field to fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bot.blocks.ids import BlockId, CallbackId
from bot.blocks.kit import Block, clip, context, escape
from bot.domain.notices import BODY_MAX, LINK_MAX, TITLE_MAX, NoticeContent, normalise_text

MINOR = "minor"


@dataclass(frozen=True, slots=True)
class TeamOption:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class FormDefaults:
    """What the modal shows when it opens: empty for a new notice, the current version for an edit."""

    teams: tuple[TeamOption, ...]  # the audience choices (new) or the fixed audience (edit)
    effective_on: date
    title: str = ""
    body: str = ""
    link: str | None = None
    deadline: datetime | None = None
    selected: tuple[int, ...] = ()
    notice_id: int | None = None  # set for an edit
    number: int | None = None  # the version being edited


@dataclass(frozen=True, slots=True)
class NoticeForm:
    content: NoticeContent
    deadline: datetime | None  # aware UTC
    team_ids: tuple[int, ...]  # empty for an edit (the audience does not change)
    minor: bool
    notice_id: int | None
    number: int | None


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = "") -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": _text(label),
        "element": {"action_id": "value", **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = _text(hint)
    return block


def _option(team: TeamOption) -> dict[str, Any]:
    return {"text": _text(clip(team.name, 75)), "value": str(team.id)}


def render_notice_modal(d: FormDefaults) -> dict[str, Any]:
    editing = d.notice_id is not None
    title: dict[str, Any] = {"type": "plain_text_input", "max_length": TITLE_MAX}
    body: dict[str, Any] = {"type": "plain_text_input", "multiline": True, "max_length": BODY_MAX}
    effective: dict[str, Any] = {"type": "datepicker", "initial_date": d.effective_on.isoformat()}
    deadline: dict[str, Any] = {"type": "datetimepicker"}
    link: dict[str, Any] = {"type": "url_text_input"}
    if d.title:
        title["initial_value"] = d.title
    if d.body:
        body["initial_value"] = d.body
    if d.deadline is not None:
        deadline["initial_date_time"] = int(d.deadline.timestamp())
    if d.link:
        link["initial_value"] = d.link
    blocks: list[Block] = [
        _input(BlockId.NOTICE_TITLE, "Title", title),
        _input(BlockId.NOTICE_BODY, "What changes", body, hint="Slack formatting works: *bold*, _italic_, • lists."),
        _input(BlockId.NOTICE_EFFECTIVE, "Effective from", effective),
        _input(BlockId.NOTICE_DEADLINE, "Acknowledge by", deadline, optional=True, hint="Shown in your time zone."),
    ]
    if editing:
        names = ", ".join(t.name for t in d.teams)
        blocks.append(context(f"Audience: {escape(clip(names, 500))}"))
        minor = {"text": _text("Minor correction (a typo): keep the acknowledgements already given"), "value": MINOR}
        blocks.append(
            _input(BlockId.NOTICE_MINOR, "Kind of change", {"type": "checkboxes", "options": [minor]}, optional=True)
        )
    else:
        audience: dict[str, Any] = {"type": "multi_static_select", "options": [_option(t) for t in d.teams[:100]]}
        chosen = [_option(t) for t in d.teams if t.id in d.selected]
        if chosen:
            audience["initial_options"] = chosen
        blocks.append(_input(BlockId.NOTICE_AUDIENCE, "Teams who must acknowledge", audience))
    blocks.append(_input(BlockId.NOTICE_LINK, "Link (optional)", link, optional=True))
    kept = int(d.deadline.timestamp()) if d.deadline else None  # an unchanged past deadline may stay
    meta = json.dumps({"notice": d.notice_id, "number": d.number, "deadline": kept}) if editing else ""
    return {
        "type": "modal",
        "callback_id": CallbackId.NOTICE_FORM,
        "private_metadata": meta,
        "title": _text(f"Edit notice #{d.notice_id}" if editing else "New notice"),
        "submit": _text("Save" if editing else "Publish"),
        "close": _text("Cancel"),
        "blocks": blocks,
    }


def _value(values: Mapping[str, Any], block_id: str) -> Mapping[str, Any]:
    return (values.get(block_id) or {}).get("value") or {}


def _meta(private_metadata: str) -> dict[str, Any] | None:
    """The edit form's metadata ({} for a new notice); None when it is not what this module wrote."""
    if not private_metadata:
        return {}
    try:
        meta = json.loads(private_metadata)
        if isinstance(meta, dict) and isinstance(meta.get("notice"), int) and isinstance(meta.get("number"), int):
            return meta
    except ValueError:
        pass
    return None


def link_problem(link: str) -> str | None:
    """Why ``link`` cannot be the notice's link (None when it can). ``<``, ``>`` and ``|`` would end Slack's
    ``<url|text>`` early and let the rest of the address become message markup."""
    if not link.startswith(("https://", "http://")) or len(link) > LINK_MAX:
        return f"Paste a web address starting with https:// (up to {LINK_MAX} characters)."
    if any(c in "<>|" or c.isspace() or not c.isprintable() for c in link):
        return "A web address can't contain spaces or the characters < > |. Paste the address on its own."
    return None


def parse_notice_form(
    private_metadata: str, values: Mapping[str, Any], *, now: datetime, allowed_teams: Sequence[int] = ()
) -> NoticeForm | dict[str, str]:
    """The submitted modal, or field errors by block id. ``allowed_teams``: the audience a new notice may have."""
    errors: dict[str, str] = {}
    meta = _meta(private_metadata)
    if meta is None:
        return {BlockId.NOTICE_TITLE: "This form is out of date: close it and run the command again."}
    editing = meta.get("notice") is not None
    title = normalise_text(_value(values, BlockId.NOTICE_TITLE).get("value") or "")
    body = normalise_text(_value(values, BlockId.NOTICE_BODY).get("value") or "")
    if not title:
        errors[BlockId.NOTICE_TITLE] = "Give the notice a title."
    elif len(title) > TITLE_MAX:
        errors[BlockId.NOTICE_TITLE] = f"Keep the title to {TITLE_MAX} characters or fewer."
    if not body:
        errors[BlockId.NOTICE_BODY] = "Say what changes."
    elif len(body) > BODY_MAX:
        errors[BlockId.NOTICE_BODY] = f"Keep it under {BODY_MAX} characters (link to a longer document)."
    effective_on: date | None = None
    try:
        effective_on = date.fromisoformat(_value(values, BlockId.NOTICE_EFFECTIVE).get("selected_date") or "")
    except ValueError:
        errors[BlockId.NOTICE_EFFECTIVE] = "Pick the date the change takes effect."
    deadline: datetime | None = None
    stamp = _value(values, BlockId.NOTICE_DEADLINE).get("selected_date_time")
    if stamp is not None:
        try:
            deadline = datetime.fromtimestamp(int(stamp), UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            errors[BlockId.NOTICE_DEADLINE] = "Pick a date and a time."
        else:
            if deadline <= now and int(stamp) != meta.get("deadline"):
                errors[BlockId.NOTICE_DEADLINE] = "The deadline has to be in the future."
    link = (_value(values, BlockId.NOTICE_LINK).get("value") or "").strip() or None
    if link is not None and (problem := link_problem(link)):
        errors[BlockId.NOTICE_LINK] = problem
    team_ids: tuple[int, ...] = ()
    if not editing:
        chosen = _value(values, BlockId.NOTICE_AUDIENCE).get("selected_options") or []
        try:
            team_ids = tuple(sorted({int(o["value"]) for o in chosen}))
        except (KeyError, TypeError, ValueError):
            team_ids = ()
        if not team_ids:
            errors[BlockId.NOTICE_AUDIENCE] = "Choose at least one team."
        elif not set(team_ids) <= set(allowed_teams):
            errors[BlockId.NOTICE_AUDIENCE] = "You can only send notices to the teams you lead."
    minor = any(o.get("value") == MINOR for o in _value(values, BlockId.NOTICE_MINOR).get("selected_options") or [])
    if errors or effective_on is None:
        return errors
    return NoticeForm(
        content=NoticeContent(title, body, link, effective_on),
        deadline=deadline,
        team_ids=team_ids,
        minor=minor,
        notice_id=int(meta["notice"]) if editing else None,
        number=int(meta["number"]) if editing else None,
    )
