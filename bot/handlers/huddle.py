"""/huddle, the Check in button and modal, and replies in a huddle prompt's thread."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.huddle import parse_checkin_form, render_checkin_modal
from bot.blocks.ids import ActionId, BlockId, CallbackId, Command
from bot.deps import Deps
from bot.domain.errors import UserFacingError
from bot.handlers.common import ack_with_answer
from bot.services.huddle_checkin import open_checkin, record_thread_reply, save_checkin
from bot.services.huddle_commands import answer_huddle_command

# Message subtypes that are a person writing (a reply also sent to the channel is one too); edits, joins and
# bot posts are not check-ins.
_PERSON_SUBTYPES = (None, "thread_broadcast", "file_share")


async def on_huddle_command(ack: AsyncAck, command: dict[str, str], respond: AsyncRespond, deps: Deps) -> None:
    answer = answer_huddle_command(
        deps, user_id=command["user_id"], channel_id=command.get("channel_id", ""), text=command.get("text", "")
    )
    await ack_with_answer(ack, respond, answer, budget=deps.settings.ack_budget_seconds)


async def on_checkin_button(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, deps: Deps
) -> None:
    await ack()
    try:
        draft = await open_checkin(deps, user_id=body["user"]["id"], huddle_id=int(body["actions"][0]["value"]))
    except UserFacingError as exc:
        await respond(text=exc.message, response_type="ephemeral", replace_original=False)
        return
    await client.views_open(trigger_id=body["trigger_id"], view=render_checkin_modal(draft))


async def on_checkin_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    form = parse_checkin_form(view["private_metadata"], view["state"]["values"])
    if isinstance(form, dict):
        await ack(response_action="errors", errors=form)
        return
    try:
        await save_checkin(deps, user_id=body["user"]["id"], form=form)
    except UserFacingError as exc:
        await ack(response_action="errors", errors={BlockId.HUDDLE_MOOD: exc.message})
        return
    await ack()


async def on_message(event: dict[str, Any], deps: Deps) -> None:
    """Every channel message reaches here (Bolt acks events first); only thread replies by people matter."""
    thread_ts, user = event.get("thread_ts"), event.get("user")
    if not thread_ts or thread_ts == event.get("ts") or not user or event.get("subtype") not in _PERSON_SUBTYPES:
        return
    await record_thread_reply(
        deps, channel=str(event.get("channel", "")), thread_ts=str(thread_ts), user_id=user, ts=event.get("ts")
    )


def register(app: AsyncApp) -> None:
    app.command(Command.HUDDLE)(on_huddle_command)
    app.action(ActionId.HUDDLE_CHECKIN)(on_checkin_button)
    app.view(CallbackId.HUDDLE_CHECKIN_FORM)(on_checkin_submit)
    app.event("message")(on_message)
