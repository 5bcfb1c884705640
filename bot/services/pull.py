"""Scheduled pulls from helpdesk sources (Zendesk Support today): once per interval across replicas."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from bot.deps import Deps
from bot.ingest.zendesk import MappingOptions, PullResult, pull_zendesk
from bot.ingest.zendesk_client import ZendeskClient
from bot.store import jobruns

log = logging.getLogger(__name__)
JOB = "zendesk-pull"
WINDOW = timedelta(days=2)  # always rebuild yesterday and today in every team's time zone


def zendesk_options(deps: Deps) -> MappingOptions:
    s = deps.settings
    return MappingOptions(sla_target_minutes=s.zendesk_sla_target_minutes, hours=s.zendesk_reply_hours)


async def run_zendesk_pull(deps: Deps, *, client: ZendeskClient | None = None) -> PullResult | None:
    """Pull the last two days once per interval slot; another replica (or a catch-up run) finds it taken."""
    now = deps.clock.now().astimezone(UTC)
    interval = deps.settings.zendesk_pull_minutes
    slot = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % interval)
    async with deps.sessions() as session:
        claimed = await jobruns.claim(
            session, job_key=JOB, subject="site", slot=slot.strftime("%Y-%m-%dT%H:%M"), scheduled_for=slot
        )
        await session.commit()
    if not claimed:
        return None
    result = await pull_zendesk(
        deps, since=now - WINDOW, client=client, options=zendesk_options(deps), actor=f"job:{JOB}"
    )
    deps.scorecards.clear()
    log.info(
        "zendesk pull: %d tickets, %d samples, %d unknown assignees, complete=%s",
        result.tickets_seen,
        result.records_upserted,
        len(result.unknown_assignees),
        result.complete,
    )
    return result


def day_start_anywhere(day: date) -> datetime:
    """The earliest moment a calendar day starts anywhere (UTC+14), so no team loses part of that day."""
    return datetime.combine(day, time(0), UTC) - timedelta(hours=14)
