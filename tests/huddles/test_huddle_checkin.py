"""Checking in through signed Slack payloads: the button opens the modal, answers are saved once per agent
(edits replace them), another team's agent is refused, and a reply in the prompt's thread counts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from bot.blocks.ids import BlockId, CallbackId
from bot.clock import FixedClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store.org import member_by
from tests.huddles.conftest import SAST, Send, button, checkin_rows, reply_event, submission, tick
from tests.support.org import AGENT_1, AGENT_2, ALPHA_LEAD, BRAVO_AGENT, STRANGER


def _view(call_body: dict[str, Any]) -> dict[str, Any]:
    view = call_body["view"]
    return view if isinstance(view, dict) else json.loads(view)


async def test_button_opens_the_modal_and_answers_are_saved(
    hud: Deps, huddle_id: int, interact: Send, fake_slack: FakeSlack
) -> None:
    assert (await interact(button(AGENT_1, huddle_id, fake_slack))).status_code == 200
    (opened,) = await fake_slack.wait_for("views.open")
    view = _view(opened.body)
    assert (view["callback_id"], view["private_metadata"]) == (CallbackId.HUDDLE_CHECKIN_FORM, str(huddle_id))
    assert view["submit"]["text"] == "Check in"
    assert [b.get("block_id") for b in view["blocks"][1:]] == [
        BlockId.HUDDLE_MOOD,
        BlockId.HUDDLE_BLOCKERS,
        BlockId.HUDDLE_NOTE,
    ]
    resp = await interact(submission(AGENT_1, huddle_id, "4", "Zendesk is slow", "Leaving at 3 for the dentist"))
    assert resp.status_code == 200 and resp.text in ("", "null")
    (row,) = await checkin_rows(hud)
    assert (row.huddle_id, row.mood, row.blockers, row.note, row.via, row.late) == (
        huddle_id,
        4,
        "Zendesk is slow",
        "Leaving at 3 for the dentist",
        "modal",
        False,
    )


async def test_submitting_twice_is_one_check_in_and_an_edit_replaces_the_answers(
    hud: Deps, huddle_id: int, interact: Send, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    first = submission(AGENT_1, huddle_id, "4", "Zendesk is slow")
    await interact(first)
    await interact(first)  # a double click or a replayed payload
    clock.set(datetime(2026, 11, 18, 9, 20, tzinfo=SAST))  # an edit after the late mark stays "on time"
    await interact(button(AGENT_1, huddle_id, fake_slack))
    (opened,) = await fake_slack.wait_for("views.open")
    view = _view(opened.body)
    assert view["submit"]["text"] == "Update"
    assert view["blocks"][1]["element"]["initial_option"]["value"] == "4"
    assert view["blocks"][2]["element"]["initial_value"] == "Zendesk is slow"
    await interact(submission(AGENT_1, huddle_id, "2", None))
    (row,) = await checkin_rows(hud)
    assert (row.mood, row.blockers, row.late) == (2, None, False)


async def test_a_check_in_after_the_late_mark_is_late(
    hud: Deps, huddle_id: int, interact: Send, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 18, 9, 16, tzinfo=SAST))
    await interact(submission(AGENT_2, huddle_id, "3"))
    (row,) = await checkin_rows(hud)
    assert row.late is True


@pytest.mark.parametrize(
    ("user", "reply"),
    [
        (BRAVO_AGENT, "This huddle is for *Team Alpha*'s agents, and you're not on its roster."),
        (ALPHA_LEAD, "This huddle is for *Team Alpha*'s agents, and you're not on its roster."),
        (STRANGER, "I don't know you yet :wave:"),
    ],
    ids=["other-team-agent", "lead", "stranger"],
)
async def test_others_are_refused_and_nothing_is_recorded(
    hud: Deps, huddle_id: int, interact: Send, fake_slack: FakeSlack, user: str, reply: str
) -> None:
    await interact(button(user, huddle_id, fake_slack))
    (hook,) = await fake_slack.wait_for("webhook:/hook")
    assert hook.body["text"].startswith(reply)
    assert fake_slack.calls_to("views.open") == []
    resp = await interact(submission(user, huddle_id, "5"))  # a forged submission fares no better
    assert resp.json()["response_action"] == "errors"
    assert resp.json()["errors"][BlockId.HUDDLE_MOOD].startswith(reply)
    assert await checkin_rows(hud) == []


async def test_mood_is_required(hud: Deps, huddle_id: int, interact: Send) -> None:
    resp = await interact(submission(AGENT_1, huddle_id, None, "x" * 10))
    assert resp.json() == {
        "response_action": "errors",
        "errors": {BlockId.HUDDLE_MOOD: "Pick how you're feeling, 1 to 5."},
    }
    resp = await interact(submission(AGENT_1, huddle_id, "9"))
    assert resp.json()["errors"] == {BlockId.HUDDLE_MOOD: "Pick how you're feeling, 1 to 5."}
    assert await checkin_rows(hud) == []


async def test_no_check_in_after_close(
    hud: Deps, huddle_id: int, interact: Send, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    await tick(hud, clock, datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))
    await interact(button(AGENT_1, huddle_id, fake_slack))
    (hook,) = await fake_slack.wait_for("webhook:/hook")
    assert hook.body["text"] == "Check-ins for this huddle closed at 09:30."
    resp = await interact(submission(AGENT_1, huddle_id, "4"))
    assert resp.json()["errors"] == {BlockId.HUDDLE_MOOD: "Check-ins for this huddle closed at 09:30."}
    assert await checkin_rows(hud) == []


async def test_a_thread_reply_by_a_team_agent_counts_once(
    hud: Deps, huddle_id: int, prompt_ts: str, post_event: Send, interact: Send
) -> None:
    event = reply_event(AGENT_1, "C0ALPHA01", prompt_ts)
    assert (await post_event(event)).status_code == 200
    assert (await post_event(event)).status_code == 200  # Slack retries an event it thinks was lost
    (row,) = await checkin_rows(hud)
    async with hud.sessions() as session:
        thandi = await member_by(session, slack_user_id=AGENT_1)
    assert thandi is not None
    assert (row.member_id, row.via, row.mood, row.late) == (thandi.id, "thread", None, False)
    await interact(submission(AGENT_1, huddle_id, "5"))  # the modal later adds a mood to the same check-in
    (row,) = await checkin_rows(hud)
    assert (row.via, row.mood) == ("modal", 5)


@pytest.mark.parametrize(
    "event",
    [
        reply_event(BRAVO_AGENT, "C0ALPHA01", "PROMPT"),  # another team's agent
        reply_event(ALPHA_LEAD, "C0ALPHA01", "PROMPT"),  # the lead is not checking in
        reply_event(AGENT_1, "C0ALPHA01", "1763400000.999999"),  # some other thread
        reply_event(AGENT_1, "C0BRAVO01", "PROMPT"),  # same ts, other channel
        reply_event(AGENT_1, "C0ALPHA01", "PROMPT", subtype="message_changed"),  # an edit, not a reply
        {"type": "message", "channel": "C0ALPHA01", "user": AGENT_1, "text": "hi", "ts": "1763400100.000002"},
    ],
    ids=["other-team", "lead", "other-thread", "other-channel", "edit", "top-level"],
)
async def test_other_messages_are_acked_and_ignored(
    hud: Deps, prompt_ts: str, post_event: Send, event: dict[str, Any]
) -> None:
    if event.get("thread_ts") == "PROMPT":
        event = {**event, "thread_ts": prompt_ts}
    assert (await post_event(event)).status_code == 200
    assert await checkin_rows(hud) == []


async def test_a_thread_reply_after_close_does_not_count(
    hud: Deps, prompt_ts: str, post_event: Send, clock: FixedClock
) -> None:
    await tick(hud, clock, datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))
    await post_event(reply_event(AGENT_1, "C0ALPHA01", prompt_ts))
    assert await checkin_rows(hud) == []
