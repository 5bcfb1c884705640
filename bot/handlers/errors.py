"""The one place where listener errors that escaped a handler are turned into a message or a log line."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.domain.errors import UserFacingError
from bot.handlers.common import FAILED

log = logging.getLogger(__name__)


async def on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    if respond is not None:
        text = error.message if isinstance(error, UserFacingError) else FAILED
        await respond(text=text, response_type="ephemeral", replace_original=False)
    if not isinstance(error, UserFacingError):
        # Log the kind of request, never its content: payloads carry names and message text.
        log.error(
            "unhandled listener error (%s): %r",
            body.get("type") or body.get("command"),
            error,
            exc_info=error,
        )


def register(app: AsyncApp) -> None:
    app.error(on_error)
