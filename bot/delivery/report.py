"""What the worker tells people about a message's fate: log lines and the admin channel's failure notice.

Both carry ids and error codes only, never message content. The admin notice does not name a DM's recipient
(a user id would render as their name); the outbox id finds the row.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.delivery.sender import Landed
from bot.domain.delivery import GiveUp, Message, Retry, report_key, should_report
from bot.store import outbox

log = logging.getLogger("bot.delivery.worker")

_KIND = {"post": "A message", "update": "An update", "dm": "A direct message", "upload": "A file", "reply": "A reply"}


def render_failure_report(message: Message, code: str, attempts: int) -> dict[str, Any]:
    source = message.key.split(":", 1)[0]
    where = "to a member" if message.kind == "dm" else f"for <#{message.channel}>"
    tries = f"after {attempts} failed attempt{'s' if attempts != 1 else ''}" if attempts else "at the first attempt"
    text = (
        f":warning: {_KIND.get(message.kind, 'A message')} {where} could not be delivered {tries}: "
        f"`{code}` (source `{source}`, outbox id {message.id}). It will not be retried."
    )
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


async def queue_failure_report(
    session: AsyncSession, settings: Settings, message: Message, outcome: GiveUp, now: datetime
) -> bool:
    """Queue one notice to the admin channel, if there is one; True when newly queued. Caller commits."""
    admin = settings.admin_channel
    if admin is None or not should_report(key=message.key, channel=message.channel, admin_channel=admin):
        return False
    attempts = message.attempts + (1 if outcome.attempted else 0)
    payload = render_failure_report(message, outcome.code, attempts)
    return await outbox.enqueue(session, key=report_key(message.key), channel=admin, payload=payload, now=now)


def log_outcome(message: Message, outcome: Landed | Retry | GiveUp, now: datetime) -> None:
    if isinstance(outcome, Landed):
        log.debug("outbox %s sent to %s", message.id, message.channel)
    elif isinstance(outcome, Retry):
        wait = (outcome.at - now).total_seconds()
        log.info("outbox %s to %s: %s; retrying in %.1fs", message.id, message.channel, outcome.code, wait)
    else:
        log.warning("outbox %s to %s failed permanently: %s", message.id, message.channel, outcome.code)
