"""Use a Block Kit surface as a person would: fill in a modal and submit it, or press a message's button.

:func:`fill` builds the ``view_submission`` payload Slack sends when someone submits ``view``: the same view
(callback_id, private_metadata, blocks) with ``state.values`` built from its input blocks, each in the shape
Slack uses for that element type. Untouched inputs keep their initial value (or Slack's empty value), and a
required input left empty is refused, as Slack's client would. :func:`press` builds the ``block_actions``
payload of a click on a button in a posted message. Both are pure: the caller signs and sends them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

Answer = str | int | float | date | datetime | time | Sequence[str] | None
TEAM = "T0RHYTHM"
APP = "A0RHYTHM"

_TEXT = ("plain_text_input", "url_text_input", "email_text_input", "number_input")
_ONE_OPTION = ("static_select", "radio_buttons")
_MANY_OPTIONS = ("multi_static_select", "checkboxes")
# element type → (state key, initial key) for pickers whose answer is an id or a list of ids
_IDS = {
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}


def input_blocks(view: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """(block_id, element, optional) of each input block of ``view``."""
    for block in view.get("blocks", []):
        if block.get("type") == "input" and "block_id" in block:
            yield str(block["block_id"]), block["element"], bool(block.get("optional", False))


def fill(
    view: Mapping[str, Any],
    answers: Mapping[str, Answer],
    *,
    user: str,
    team: str = TEAM,
    view_id: str = "V0FILLED",
) -> dict[str, Any]:
    """The view_submission payload for ``view`` submitted by ``user`` with ``answers`` (block_id → answer).

    Answers by element type: text inputs take a string (or number); static_select and radio_buttons an option's
    value or its text; multi_static_select and checkboxes a list of those; datepicker a date or "YYYY-MM-DD";
    timepicker a time or "HH:MM"; datetimepicker an aware datetime or a Unix timestamp; users_select,
    conversations_select and channels_select an id (their multi_ variants a list of ids).

    Raises ValueError for an answer to a block the view has no input for, an option the element does not
    offer, an element type it does not know, or a required input left without an answer.
    """
    blocks = {block_id: (element, optional) for block_id, element, optional in input_blocks(view)}
    unknown = sorted(set(answers) - set(blocks))
    if unknown:
        raise ValueError(f"the view has no input block {', '.join(unknown)} (it has: {', '.join(blocks)})")
    values: dict[str, Any] = {}
    for block_id, (element, optional) in blocks.items():
        state = _state(element, answers[block_id]) if block_id in answers else _initial(element)
        if not optional and _empty(state):
            raise ValueError(f"{block_id} is required: Slack would not let this form be submitted without it")
        values[block_id] = {str(element.get("action_id", "value")): state}
    submitted = copy.deepcopy(dict(view))
    submitted.update({"id": view_id, "team_id": team, "app_id": APP, "state": {"values": values}, "hash": "0.fill"})
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": "rhythm-demo"},
        "user": {"id": user, "team_id": team},
        "api_app_id": APP,
        "token": "legacy-verification-token-unused",
        "trigger_id": "0000.1.fill",
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
    }


def press(
    message: Mapping[str, Any],
    action_id: str,
    *,
    user: str,
    channel: str,
    ts: str,
    response_url: str,
    team: str = TEAM,
) -> dict[str, Any]:
    """The block_actions payload of ``user`` clicking the button ``action_id`` in ``message`` (posted in
    ``channel`` at ``ts``). Raises ValueError when the message has no such button."""
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                action = {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block.get("block_id", ""),
                    "text": element.get("text"),
                    "value": element.get("value", ""),
                    "action_ts": "0000.2",
                }
                return {
                    "type": "block_actions",
                    "team": {"id": team, "domain": "rhythm-demo"},
                    "user": {"id": user, "team_id": team},
                    "api_app_id": APP,
                    "token": "legacy-verification-token-unused",
                    "trigger_id": "0000.1.press",
                    "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
                    "channel": {"id": channel},
                    "message": {**message, "ts": ts},
                    "response_url": response_url,
                    "actions": [action],
                }
    raise ValueError(f"the message has no button {action_id}")


def _options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options", []))
    for group in element.get("option_groups", []):
        found += group.get("options", [])
    return found


def _option(element: Mapping[str, Any], answer: Any) -> dict[str, Any]:
    options = _options(element)
    for key in ("value", "text"):
        for option in options:
            shown = option["text"]["text"] if key == "text" else option.get("value")
            if shown == str(answer):
                return dict(option)
    offered = ", ".join(repr(o.get("value")) for o in options)
    raise ValueError(f"{element.get('type')} has no option {answer!r} (it offers {offered})")


def _listed(answer: Any) -> list[Any]:
    return [answer] if isinstance(answer, str) else list(answer)


def _state(element: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
    kind = str(element.get("type"))
    if answer is None:
        return _empty_state(kind)
    if kind in _TEXT:
        return {"type": kind, "value": str(answer)}
    if kind in _ONE_OPTION:
        return {"type": kind, "selected_option": _option(element, answer)}
    if kind in _MANY_OPTIONS:
        return {"type": kind, "selected_options": [_option(element, a) for a in _listed(answer)]}
    if kind == "datepicker":
        day = answer if isinstance(answer, date) else date.fromisoformat(str(answer))
        return {"type": kind, "selected_date": day.isoformat()}
    if kind == "timepicker":
        at = answer if isinstance(answer, time) else time.fromisoformat(str(answer))
        return {"type": kind, "selected_time": f"{at:%H:%M}"}
    if kind == "datetimepicker":
        if isinstance(answer, datetime):
            if answer.tzinfo is None:
                raise ValueError("datetimepicker answers must be aware datetimes")
            return {"type": kind, "selected_date_time": int(answer.timestamp())}
        return {"type": kind, "selected_date_time": int(str(answer))}
    if kind in _IDS:
        key = _IDS[kind][0]
        return {"type": kind, key: _listed(answer) if kind.startswith("multi_") else str(answer)}
    raise ValueError(f"fill() does not know how to answer a {kind} element")


def _empty_state(kind: str) -> dict[str, Any]:
    """What Slack sends for an input nobody touched and that had no initial value."""
    if kind in _TEXT:
        return {"type": kind, "value": None}
    if kind in _ONE_OPTION:
        return {"type": kind, "selected_option": None}
    if kind in _MANY_OPTIONS:
        return {"type": kind, "selected_options": []}
    keys = {"datepicker": "selected_date", "timepicker": "selected_time", "datetimepicker": "selected_date_time"}
    if kind in keys:
        return {"type": kind, keys[kind]: None}
    if kind in _IDS:
        key = _IDS[kind][0]
        return {"type": kind, key: [] if kind.startswith("multi_") else None}
    raise ValueError(f"fill() does not know how to answer a {kind} element")


def _initial(element: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(element.get("type"))
    state = _empty_state(kind)
    initial = {
        "selected_option": "initial_option",
        "selected_options": "initial_options",
        "value": "initial_value",
        "selected_date": "initial_date",
        "selected_time": "initial_time",
        "selected_date_time": "initial_date_time",
        **dict(_IDS.values()),
    }
    for key in list(state):
        if key != "type" and initial.get(key) in element:
            state[key] = copy.deepcopy(element[initial[key]])
    return state


def _empty(state: Mapping[str, Any]) -> bool:
    return all(v in (None, "", []) for k, v in state.items() if k != "type")
