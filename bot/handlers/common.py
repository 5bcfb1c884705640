"""Answering a slash command inside Slack's 3-second ack window, whatever the computation does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.kpi import render_text
from bot.domain.errors import UserFacingError

log = logging.getLogger(__name__)

WORKING = "Working on it… :hourglass_flowing_sand:"
FAILED = "Sorry, something went wrong on our side and I couldn't answer that. Please try again in a minute."


async def _safe(answer: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """The answer, or a clear ephemeral message: never a stack trace, never silence."""
    try:
        return await answer
    except UserFacingError as exc:
        return {**render_text(exc.message), "response_type": "ephemeral"}
    except Exception:
        log.exception("slash command failed")
        return {**render_text(FAILED), "response_type": "ephemeral"}


async def ack_with_answer(
    ack: AsyncAck, respond: AsyncRespond, answer: Awaitable[dict[str, Any]], *, budget: float
) -> None:
    """Ack with the answer itself when it is ready within ``budget`` seconds; else ack now and respond later."""
    task = asyncio.ensure_future(_safe(answer))
    done, _ = await asyncio.wait({task}, timeout=budget)
    if task in done:
        await ack(**task.result())
        return
    await ack(text=WORKING, response_type="ephemeral")
    payload = await task
    await respond(**payload, replace_original=True)
