"""/kpi: team, agent and personal scorecards."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.ids import Command
from bot.deps import Deps
from bot.handlers.common import ack_with_answer
from bot.services.kpi import answer_kpi_command


async def on_kpi_command(ack: AsyncAck, command: dict[str, str], respond: AsyncRespond, deps: Deps) -> None:
    answer = answer_kpi_command(deps, user_id=command["user_id"], text=command.get("text", ""))
    await ack_with_answer(ack, respond, answer, budget=deps.settings.ack_budget_seconds)


def register(app: AsyncApp) -> None:
    app.command(Command.KPI)(on_kpi_command)
