"""Buttons on a breach alert (Acknowledge, Excuse…, Coach) and the Excuse modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.adherence import parse_excuse_form, render_excuse_modal
from bot.blocks.ids import ActionId, CallbackId, Command
from bot.deps import Deps
from bot.domain.errors import UserFacingError
from bot.handlers.common import ack_with_answer
from bot.services.adherence_report import answer_adherence_command
from bot.services.breaches import act, check_can_act

_ACTIONS = {ActionId.BREACH_ACK: "acknowledge", ActionId.BREACH_COACH: "coach"}


def _breach_id(body: dict[str, Any]) -> int:
    return int(body["actions"][0]["value"])


async def _reply(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def on_breach_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, deps: Deps) -> None:
    await ack()
    action = _ACTIONS[ActionId(body["actions"][0]["action_id"])]
    try:
        text = await act(deps, user_id=body["user"]["id"], breach_id=_breach_id(body), action=action)
    except UserFacingError as exc:
        text = exc.message
    await _reply(respond, text)


async def on_breach_excuse(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, deps: Deps
) -> None:
    await ack()
    try:
        target = await check_can_act(deps, user_id=body["user"]["id"], breach_id=_breach_id(body))
    except UserFacingError as exc:
        await _reply(respond, exc.message)
        return
    await client.views_open(
        trigger_id=body["trigger_id"], view=render_excuse_modal(target.breach_id, target.agent_name, target.kind)
    )


async def on_excuse_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    form = parse_excuse_form(view["private_metadata"], view["state"]["values"])
    if isinstance(form, dict):
        await ack(response_action="errors", errors=form)
        return
    try:
        await act(
            deps,
            user_id=body["user"]["id"],
            breach_id=form.breach_id,
            action="excuse",
            reason=form.reason,
            note=form.note,
        )
    except UserFacingError as exc:
        await ack(response_action="errors", errors={"excuse.reason": exc.message})
        return
    await ack()


async def on_adherence_command(ack: AsyncAck, command: dict[str, str], respond: AsyncRespond, deps: Deps) -> None:
    answer = answer_adherence_command(deps, user_id=command["user_id"], text=command.get("text", ""))
    await ack_with_answer(ack, respond, answer, budget=deps.settings.ack_budget_seconds)


def register(app: AsyncApp) -> None:
    app.command(Command.ADHERENCE)(on_adherence_command)
    app.action(ActionId.BREACH_ACK)(on_breach_button)
    app.action(ActionId.BREACH_COACH)(on_breach_button)
    app.action(ActionId.BREACH_EXCUSE)(on_breach_excuse)
    app.view(CallbackId.BREACH_EXCUSE_FORM)(on_excuse_submit)
