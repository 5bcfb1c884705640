"""bot.sandbox.forms: a modal filled in and submitted as Slack would send it, read back by the app's own parsers;
and a button press on a rendered message."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from bot.blocks.coaching import SessionFormContext, read_session_form, render_session_modal
from bot.blocks.huddle import (
    CheckInDraft,
    CheckInForm,
    PromptView,
    parse_checkin_form,
    render_checkin_modal,
    render_prompt,
)
from bot.blocks.ids import ActionId, BlockId, CallbackId
from bot.blocks.notice_form import FormDefaults, TeamOption, parse_notice_form, render_notice_modal
from bot.sandbox.forms import fill, press

NOW = datetime(2026, 11, 18, 12, 30, tzinfo=UTC)


def _state(payload: dict[str, Any], block_id: str) -> dict[str, Any]:
    return dict(payload["view"]["state"]["values"][block_id]["value"])


def test_checkin_modal_round_trips_through_the_apps_parser() -> None:
    view = render_checkin_modal(CheckInDraft(huddle_id=42, team_name="Team Alpha", day="Wed 18 Nov"))
    payload = fill(view, {BlockId.HUDDLE_MOOD: "4", BlockId.HUDDLE_BLOCKERS: "VPN down"}, user="U0AGENT1")

    assert payload["type"] == "view_submission" and payload["user"]["id"] == "U0AGENT1"
    submitted = payload["view"]
    assert submitted["callback_id"] == CallbackId.HUDDLE_CHECKIN_FORM and submitted["private_metadata"] == "42"
    assert submitted["blocks"] == view["blocks"]  # the view as opened, with its state added
    mood = _state(payload, BlockId.HUDDLE_MOOD)
    assert mood["type"] == "static_select" and mood["selected_option"]["text"]["text"].endswith("4 — good")
    assert _state(payload, BlockId.HUDDLE_NOTE) == {"type": "plain_text_input", "value": None}  # untouched
    form = parse_checkin_form(submitted["private_metadata"], submitted["state"]["values"])
    assert form == CheckInForm(huddle_id=42, mood=4, blockers="VPN down", note=None)


def test_an_option_can_be_chosen_by_its_visible_text() -> None:
    view = render_checkin_modal(CheckInDraft(huddle_id=1, team_name="Team Alpha", day="Wed 18 Nov"))
    label = view["blocks"][1]["element"]["options"][1]["text"]["text"]  # "🙁 2 — not great"
    payload = fill(view, {BlockId.HUDDLE_MOOD: label}, user="U1")
    assert _state(payload, BlockId.HUDDLE_MOOD)["selected_option"]["value"] == "2"


def test_notice_modal_multi_select_dates_and_link_parse_as_the_app_expects() -> None:
    teams = (TeamOption(7, "Team Alpha — Chat"), TeamOption(9, "Team Bravo — Email"))
    view = render_notice_modal(FormDefaults(teams, date(2026, 11, 18)))
    deadline = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    answers = {
        BlockId.NOTICE_TITLE: "New refund limits",
        BlockId.NOTICE_BODY: "Refunds over R500 need approval.",
        BlockId.NOTICE_EFFECTIVE: date(2026, 11, 23),
        BlockId.NOTICE_DEADLINE: deadline,
        BlockId.NOTICE_AUDIENCE: ["Team Bravo — Email", "7"],  # by text and by value
        BlockId.NOTICE_LINK: "https://wiki.example/refunds",
    }
    payload = fill(view, answers, user="U0MGR")

    assert _state(payload, BlockId.NOTICE_DEADLINE) == {
        "type": "datetimepicker",
        "selected_date_time": int(deadline.timestamp()),
    }
    assert _state(payload, BlockId.NOTICE_LINK) == {"type": "url_text_input", "value": "https://wiki.example/refunds"}
    values = payload["view"]["state"]["values"]
    form = parse_notice_form(payload["view"]["private_metadata"], values, now=NOW, allowed_teams=[7, 9])
    assert not isinstance(form, dict), form
    assert form.team_ids == (7, 9) and form.deadline == deadline
    assert form.content.effective_on == date(2026, 11, 23) and form.content.link == "https://wiki.example/refunds"


def test_untouched_inputs_keep_their_initial_values() -> None:
    view = render_session_modal(SessionFormContext(date(2026, 11, 18), notes_enabled=True, member_id=5))
    payload = fill(view, {BlockId.COACHING_SUMMARY: "Talked about CSAT."}, user="U0LEAD")

    assert _state(payload, BlockId.COACHING_FOLLOW_UP) == {"type": "datepicker", "selected_date": None}
    raw = read_session_form(payload["view"]["private_metadata"], payload["view"]["state"]["values"])
    assert raw.member_id == 5 and raw.kind == "one_on_one" and raw.held_on == date(2026, 11, 18)
    assert raw.summary == "Talked about CSAT." and raw.notes is None


def _view(*elements: dict[str, Any], optional: bool = True) -> dict[str, Any]:
    blocks = [
        {"type": "input", "block_id": f"b{i}", "optional": optional, "label": {}, "element": {"action_id": "a", **e}}
        for i, e in enumerate(elements)
    ]
    return {"type": "modal", "callback_id": "cb", "private_metadata": "m", "blocks": [{"type": "divider"}, *blocks]}


def _options(*values: str) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": v.upper()}, "value": v} for v in values]


def test_every_element_type_gets_slacks_state_shape() -> None:
    view = _view(
        {"type": "checkboxes", "options": _options("x", "y")},
        {"type": "radio_buttons", "options": _options("r1", "r2")},
        {"type": "timepicker"},
        {"type": "users_select"},
        {"type": "multi_users_select"},
        {"type": "multi_conversations_select"},
        {"type": "channels_select"},
        {"type": "number_input", "is_decimal_allowed": True},
        {"type": "static_select", "option_groups": [{"label": {}, "options": _options("g1", "g2")}]},
        {"type": "email_text_input"},
    )
    answers = {
        "b0": "y",
        "b1": "R2",
        "b2": time(8, 5),
        "b3": "U1",
        "b4": ["U1", "U2"],
        "b5": ["C1", "D2"],
        "b6": "C9",
        "b7": 2.5,
        "b8": "g2",
    }
    values = fill(view, answers, user="U0")["view"]["state"]["values"]

    assert values["b0"]["a"] == {"type": "checkboxes", "selected_options": [_options("x", "y")[1]]}
    assert values["b1"]["a"]["selected_option"]["value"] == "r2"
    assert values["b2"]["a"] == {"type": "timepicker", "selected_time": "08:05"}
    assert values["b3"]["a"] == {"type": "users_select", "selected_user": "U1"}
    assert values["b4"]["a"] == {"type": "multi_users_select", "selected_users": ["U1", "U2"]}
    assert values["b5"]["a"] == {"type": "multi_conversations_select", "selected_conversations": ["C1", "D2"]}
    assert values["b6"]["a"] == {"type": "channels_select", "selected_channel": "C9"}
    assert values["b7"]["a"] == {"type": "number_input", "value": "2.5"}
    assert values["b8"]["a"]["selected_option"]["value"] == "g2"
    assert values["b9"]["a"] == {"type": "email_text_input", "value": None}  # not answered, no initial value


def test_initial_values_of_pickers_and_lists_are_submitted_when_untouched() -> None:
    view = _view(
        {"type": "multi_static_select", "options": _options("a", "b"), "initial_options": _options("b")},
        {"type": "datetimepicker", "initial_date_time": 1800000000},
        {"type": "multi_users_select", "initial_users": ["U7"]},
        {"type": "checkboxes", "options": _options("c")},
    )
    values = fill(view, {}, user="U0")["view"]["state"]["values"]
    assert values["b0"]["a"]["selected_options"] == _options("b")
    assert values["b1"]["a"]["selected_date_time"] == 1800000000
    assert values["b2"]["a"]["selected_users"] == ["U7"]
    assert values["b3"]["a"] == {"type": "checkboxes", "selected_options": []}


@pytest.mark.parametrize(
    ("view", "answers", "message"),
    [
        (_view({"type": "plain_text_input"}), {"nope": "x"}, "no input block nope"),
        (_view({"type": "static_select", "options": _options("a")}), {"b0": "z"}, "has no option 'z'"),
        (_view({"type": "plain_text_input"}, optional=False), {}, "b0 is required"),
        (_view({"type": "plain_text_input"}, optional=False), {"b0": None}, "b0 is required"),
        (_view({"type": "datetimepicker"}), {"b0": datetime(2026, 11, 18, 9, 0)}, "aware"),
        (_view({"type": "rich_text_input"}), {"b0": "x"}, "rich_text_input"),
    ],
)
def test_what_slack_would_not_send_is_refused(view: dict[str, Any], answers: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fill(view, answers, user="U0")


def test_press_clicks_the_named_button_of_a_message() -> None:
    prompt = render_prompt(
        PromptView(
            huddle_id=12,
            team_name="Team Alpha",
            day="Wed 18 Nov",
            label="",
            closes="09:30",
            late_after="09:15",
            kpi_day="Tue 17 Nov",
        )
    )
    payload = press(prompt, ActionId.HUDDLE_CHECKIN, user="U0AGENT1", channel="C0ALPHA01", ts="17.1", response_url="u")

    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0AGENT1"
    assert payload["container"]["message_ts"] == "17.1" and payload["channel"]["id"] == "C0ALPHA01"
    (action,) = payload["actions"]
    assert action["action_id"] == ActionId.HUDDLE_CHECKIN and action["value"] == "12"
    assert action["block_id"] == f"{BlockId.HUDDLE_ACTIONS}.12" and payload["response_url"] == "u"
    with pytest.raises(ValueError, match="no button"):
        press(prompt, ActionId.NOTICE_ACK, user="U0", channel="C0", ts="1", response_url="u")
