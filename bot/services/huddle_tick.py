"""The per-minute huddle job: post due prompts, send due reminders, close due huddles — all idempotent.

One tick instead of cron jobs per team and step, because reminders and closes hang off each huddle's own
times (an ad-hoc `/huddle now` has no cron slot; a prompt posted late after a restart still closes on time),
and those times live in the database. A tick after downtime does whatever fell due meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.deps import Deps
from bot.services.huddle_close import close_due, send_reminders
from bot.services.huddles import post_due_prompts
from bot.store import huddles

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    posted: list[int] = field(default_factory=list)
    reminders: int = 0
    closed: list[int] = field(default_factory=list)


async def run_huddle_tick(deps: Deps) -> TickResult:
    now = deps.clock.now()
    result = TickResult()
    async with deps.sessions() as session:
        teams = await huddles.huddle_teams(session)
    for team in teams:
        try:
            result.posted += await post_due_prompts(deps, team, now)
        except Exception:  # one team's failure must not stop the others' huddles
            log.exception("huddle prompt for team %s failed", team.id)
    try:
        result.reminders = await send_reminders(deps, now)
    except Exception:  # e.g. the database briefly unreachable: the closes below still get their chance
        log.exception("huddle reminders failed")
    try:
        result.closed = await close_due(deps, now)
    except Exception:
        log.exception("huddle closes failed")
    return result
