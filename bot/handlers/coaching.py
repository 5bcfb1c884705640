"""/1on1 and /pip, their modals, and the agent's Acknowledge buttons on a session or plan DM."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.coaching import read_session_form
from bot.blocks.coaching_kit import render_loading, render_notice
from bot.blocks.coaching_pip import read_plan_form
from bot.blocks.ids import ActionId, CallbackId, Command
from bot.blocks.kpi import render_text
from bot.deps import Deps
from bot.domain.coaching_commands import CoachingQuery, Intent, parse_one_on_one, parse_pip
from bot.domain.errors import UserFacingError
from bot.handlers.common import FAILED, ack_with_answer
from bot.services.coaching import AckResult, acknowledge_session, save_session, session_form
from bot.services.coaching_access import OpenForm, form_opened
from bot.services.coaching_reports import answer_one_on_one
from bot.services.pip import acknowledge_plan, answer_pip, plan_form, save_plan

log = logging.getLogger(__name__)
# Slack's trigger_id expires 3 s after the command was sent, and the ack has already spent part of that: a form
# not built by then opens as "Loading…" at once and is filled in when ready.
FORM_BUDGET_SECONDS = 1.0
EXPIRED = "Slack took too long to open the form, so nothing was opened. Please run the command again."


async def _say(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def _open_form(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, trigger_id: str, form: Awaitable[OpenForm], deps: Deps
) -> None:
    """Ack now (Slack's 3 s), then open the form promptly: at once when it is ready within the budget, else as a
    "Loading…" modal filled in (or turned into the refusal) when it is. A refusal before anything opened is an
    ephemeral message; the facts the form shows are audited only once it is on screen."""
    await ack()
    task = asyncio.ensure_future(form)
    done, _ = await asyncio.wait({task}, timeout=FORM_BUDGET_SECONDS)
    try:
        if task in done:
            try:
                ready = task.result()
            except UserFacingError as exc:
                await _say(respond, exc.message)
                return
            await client.views_open(trigger_id=trigger_id, view=ready.view)
        else:
            opened = await client.views_open(trigger_id=trigger_id, view=render_loading())
            view_id = (opened.get("view") or {}).get("id")
            if not view_id:  # Slack always answers with the view; without its id there is nothing to fill in
                task.cancel()
                return
            try:
                ready = await task
            except UserFacingError as exc:
                await client.views_update(view_id=view_id, view=render_notice(exc.message))
                return
            except Exception:
                await client.views_update(view_id=view_id, view=render_notice(FAILED))
                raise
            await client.views_update(view_id=view_id, view=ready.view)
    except SlackApiError as exc:
        task.cancel()
        error = exc.response.get("error") if exc.response is not None else None
        log.warning("coaching form not opened: %s", error)
        expired = error in ("expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id")
        await _say(respond, EXPIRED if expired else FAILED)
        return
    await form_opened(deps, ready)


async def on_one_on_one(
    ack: AsyncAck, command: dict[str, str], respond: AsyncRespond, client: AsyncWebClient, deps: Deps
) -> None:
    user_id = command["user_id"]
    try:
        query = parse_one_on_one(command.get("text", ""))
    except UserFacingError as exc:
        await ack(**render_text(exc.message), response_type="ephemeral")
        return
    if query.intent is Intent.LOG:
        form = session_form(deps, user_id=user_id, slack_user_id=query.slack_user_id)
        await _open_form(ack, respond, client, command["trigger_id"], form, deps)
        return
    answer = answer_one_on_one(deps, user_id=user_id, query=query)
    await ack_with_answer(ack, respond, answer, budget=deps.settings.ack_budget_seconds)


async def on_pip(
    ack: AsyncAck, command: dict[str, str], respond: AsyncRespond, client: AsyncWebClient, deps: Deps
) -> None:
    user_id = command["user_id"]
    try:
        query: CoachingQuery = parse_pip(command.get("text", ""))
    except UserFacingError as exc:
        await ack(**render_text(exc.message), response_type="ephemeral")
        return
    if query.intent in (Intent.PIP_OPEN, Intent.PIP_EDIT):
        assert query.slack_user_id is not None
        form = plan_form(deps, user_id=user_id, slack_user_id=query.slack_user_id, edit=query.intent is Intent.PIP_EDIT)
        await _open_form(ack, respond, client, command["trigger_id"], form, deps)
        return
    answer = answer_pip(deps, user_id=user_id, query=query)
    await ack_with_answer(ack, respond, answer, budget=deps.settings.ack_budget_seconds)


async def on_session_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    form = read_session_form(view.get("private_metadata"), view["state"]["values"])
    result = await save_session(deps, user_id=body["user"]["id"], form=form, view_id=view.get("id"))
    if result.errors:
        await ack(response_action="errors", errors=result.errors)
        return
    await ack(response_action="update", view=result.view)


async def on_plan_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    form = read_plan_form(view.get("private_metadata"), view["state"]["values"])
    result = await save_plan(deps, user_id=body["user"]["id"], form=form, view_id=view.get("id"))
    if result.errors:
        await ack(response_action="errors", errors=result.errors)
        return
    await ack(response_action="update", view=result.view)


async def _answer_ack(respond: AsyncRespond, result: AckResult) -> None:
    if result.message is not None:
        await respond(**result.message, replace_original=True)
    await _say(respond, result.text)


async def on_session_ack(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, deps: Deps) -> None:
    await ack()
    try:
        session_id = int(body["actions"][0]["value"])
        result = await acknowledge_session(deps, user_id=body["user"]["id"], session_id=session_id)
    except ValueError:
        result = AckResult("That button is out of date.")
    except UserFacingError as exc:
        result = AckResult(exc.message)
    await _answer_ack(respond, result)


async def on_plan_ack(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, deps: Deps) -> None:
    await ack()
    try:
        plan_id, version = (int(x) for x in str(body["actions"][0]["value"]).split(":"))
        result = await acknowledge_plan(deps, user_id=body["user"]["id"], plan_id=plan_id, version=version)
    except ValueError:
        result = AckResult("That button is out of date.")
    except UserFacingError as exc:
        result = AckResult(exc.message)
    await _answer_ack(respond, result)


def register(app: AsyncApp) -> None:
    app.command(Command.ONE_ON_ONE)(on_one_on_one)
    app.command(Command.PIP)(on_pip)
    app.view(CallbackId.COACHING_FORM)(on_session_submit)
    app.view(CallbackId.PIP_FORM)(on_plan_submit)
    app.action(ActionId.COACHING_ACK)(on_session_ack)
    app.action(ActionId.PIP_ACK)(on_plan_ack)
