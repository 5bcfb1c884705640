"""/notice (new, edit, list, status, remind, export), the notice modal, and the Acknowledge button."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.ids import ActionId, BlockId, CallbackId, Command
from bot.blocks.kpi import render_text
from bot.blocks.notices import render_not_saved_view, render_saving_view
from bot.deps import Deps
from bot.domain.errors import UsageError, UserFacingError
from bot.domain.notice_commands import NoticeAction, parse_notice_command
from bot.handlers.common import ack_with_answer
from bot.services.notice_acks import acknowledge
from bot.services.notice_reminders import remind_now
from bot.services.notice_reports import answer_notice_command, export_for
from bot.services.notices import FormResult, open_form, submit_form

log = logging.getLogger(__name__)
SAVE_FAILED = "Sorry, something went wrong on our side and nothing was saved. Please try again in a minute."


def _ephemeral(text: str) -> dict[str, Any]:
    return {**render_text(text), "response_type": "ephemeral"}


async def _reply(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def _remind(deps: Deps, user_id: str, notice_id: int) -> dict[str, Any]:
    return _ephemeral(await remind_now(deps, user_id=user_id, notice_id=notice_id))


async def _export(deps: Deps, client: AsyncWebClient, user_id: str, notice_id: int) -> dict[str, Any]:
    """Build the CSV and upload it straight to the requester's DM (files cannot be ephemeral).

    Not through the outbox: this answers the requester's own command, and the file (emails of a whole
    audience) should not be kept in an outbox row.
    """
    export = await export_for(deps, user_id=user_id, notice_id=notice_id)
    try:
        opened = await client.conversations_open(users=user_id)
        await client.files_upload_v2(
            channel=opened["channel"]["id"],
            content=export.content.encode("utf-8"),
            filename=export.filename,
            title=f"Notice #{notice_id} acknowledgements",
            initial_comment=f"Acknowledgement record of notice #{notice_id}: {export.rows} rows.",
        )
    except SlackApiError as exc:
        log.warning("notice export upload failed: %s", exc.response.get("error"))
        return _ephemeral("Sorry, Slack didn't accept the file just now. Please try again in a minute.")
    return _ephemeral(f"📎 I've sent you the CSV for notice #{notice_id} ({export.rows} rows) in a DM.")


async def on_notice_command(
    ack: AsyncAck, command: dict[str, str], respond: AsyncRespond, client: AsyncWebClient, deps: Deps
) -> None:
    try:
        intent = parse_notice_command(command.get("text", ""))
    except UsageError as exc:
        await ack(**_ephemeral(exc.message))
        return
    user_id = command["user_id"]
    if intent.action in (NoticeAction.NEW, NoticeAction.EDIT):
        await ack()
        try:
            view = await open_form(deps, user_id=user_id, notice_id=intent.notice_id)
        except UserFacingError as exc:
            await _reply(respond, exc.message)
            return
        await client.views_open(trigger_id=command["trigger_id"], view=view)
        return
    budget = deps.settings.ack_budget_seconds
    if intent.action is NoticeAction.REMIND and intent.notice_id is not None:
        await ack_with_answer(ack, respond, _remind(deps, user_id, intent.notice_id), budget=budget)
    elif intent.action is NoticeAction.EXPORT and intent.notice_id is not None:
        await ack_with_answer(ack, respond, _export(deps, client, user_id, intent.notice_id), budget=budget)
    else:
        await ack_with_answer(ack, respond, answer_notice_command(deps, user_id=user_id, intent=intent), budget=budget)


async def _save(deps: Deps, body: dict[str, Any], view: dict[str, Any]) -> FormResult:
    """The submit's outcome; an unexpected failure becomes a plain message on the form, never silence."""
    try:
        return await submit_form(
            deps,
            user_id=body["user"]["id"],
            private_metadata=view.get("private_metadata", ""),
            values=view["state"]["values"],
        )
    except Exception:
        log.exception("notice form submit failed")
        return FormResult(errors={BlockId.NOTICE_TITLE: SAVE_FAILED})


async def on_notice_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Ack with the outcome when it is ready within the ack budget (field errors or the confirmation);
    otherwise turn the modal into "Saving…" at once and update it with the outcome when the save ends."""
    task = asyncio.ensure_future(_save(deps, body, view))
    done, _ = await asyncio.wait({task}, timeout=deps.settings.ack_budget_seconds)
    if task in done:
        result = task.result()
        if result.errors:
            await ack(response_action="errors", errors=result.errors)
        else:
            await ack(response_action="update", view=result.view)
        return
    await ack(response_action="update", view=render_saving_view())
    result = await task
    final = result.view or render_not_saved_view(list((result.errors or {}).values()))
    try:
        await client.views_update(view_id=view["id"], view=final)
    except SlackApiError as exc:
        log.warning("notice form: views.update failed: %s", exc.response.get("error"))


async def on_notice_ack(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, deps: Deps) -> None:
    await ack()
    try:
        text = await acknowledge(deps, user_id=body["user"]["id"], value=body["actions"][0]["value"])
    except UserFacingError as exc:
        text = exc.message
    await _reply(respond, text)


def register(app: AsyncApp) -> None:
    app.command(Command.NOTICE)(on_notice_command)
    app.view(CallbackId.NOTICE_FORM)(on_notice_submit)
    app.action(ActionId.NOTICE_ACK)(on_notice_ack)
