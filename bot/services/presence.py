"""Polling a presence feed: fetch pages of state changes from the bookmark, store them through the ingest path,
move the bookmark with them, then scan adherence so a breach shows within one poll.

A failing feed (HTTP error, timeout, nonsense) ends the poll with a warning; the bookmark stays at the last page
stored, so the next poll asks again from there and nothing is lost or skipped. Bad records are skipped and
reported (see :func:`bot.ingest.adherence.import_states_skipping` for why a pull does not reject the page).
Events may come out of order and repeated: the store ignores repeats and the scan reads them in time order.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.deps import Deps
from bot.ingest.adherence import import_states_skipping
from bot.ingest.presence import PresenceFeedError, PresenceSource, presence_feed_from_settings
from bot.ingest.records import RowError
from bot.services.adherence import LOOKBACK, scan_after_ingest
from bot.store import feed_cursor

log = logging.getLogger(__name__)
JOB = "presence-pull"
SOURCE = "presence-feed"  # agent_state_event.source
MAX_PAGES = 20  # per poll; a backlog longer than that carries on at the next poll
OVERLAP = timedelta(minutes=5)  # a time-polled feed is asked from a little before the last good poll
_QUOTED = re.compile(r"'[^']*'|\S+@\S+")


@dataclass
class PresencePull:
    pages: int = 0
    received: int = 0
    stored: int = 0  # new events (repeats are not counted)
    errors: list[RowError] = field(default_factory=list)  # bad records, skipped; line = position in this poll
    failed: str | None = None  # why the feed stopped this poll early
    cursor: str | None = None  # the bookmark after this poll


async def run_presence_pull(deps: Deps, *, source: PresenceSource | None = None) -> PresencePull | None:
    """The scheduled job; None when the connector is off or another replica is polling right now."""
    if source is not None:
        return await pull_presence(deps, source)
    feed = presence_feed_from_settings(deps.settings)
    if feed is None:
        return None
    async with feed:
        return await pull_presence(deps, feed)


async def pull_presence(deps: Deps, source: PresenceSource) -> PresencePull | None:
    started = deps.clock.now()
    lease = timedelta(seconds=max(120, 4 * deps.settings.presence_poll_seconds))
    async with deps.sessions() as session:
        mark = await feed_cursor.take(session, job_key=JOB, now=started, lease=lease, first_since=started - LOOKBACK)
        await session.commit()
    if mark is None:
        return None
    result = PresencePull(cursor=mark.cursor)
    done = False
    try:
        await _pages(deps, source, result, mark.since - OVERLAP)
        done = True
    except PresenceFeedError as exc:
        result.failed = str(exc)
        log.warning("presence feed: %s; the next poll retries from the same place", exc)
    finally:  # also on an unexpected error, so the lease does not sit until it expires
        async with deps.sessions() as session:
            await feed_cursor.release(session, job_key=JOB, ok=done, started=started)
            await session.commit()
    if result.errors:
        shown = "; ".join(f"#{e.line}: {_QUOTED.sub('…', e.message)}" for e in result.errors[:5])
        log.warning("presence feed: skipped %d bad record(s): %s", len(result.errors), shown)
    if result.received:
        log.info("presence feed: %d page(s), %d event(s), %d new", result.pages, result.received, result.stored)
    if result.stored:
        await scan_after_ingest(deps)
    return result


async def _pages(deps: Deps, source: PresenceSource, result: PresencePull, since: datetime) -> None:
    while result.pages < MAX_PAGES:
        page = await source.fetch(cursor=result.cursor, since=since)
        result.pages += 1
        records = [(result.received + i + 1, r) for i, r in enumerate(page.records)]
        cursor = page.cursor or result.cursor  # a page without a cursor leaves the bookmark where it was
        async with deps.sessions() as session:
            new, errors = await import_states_skipping(session, records, source=SOURCE)
            await feed_cursor.advance(session, job_key=JOB, cursor=cursor)
            await session.commit()
        result.received += len(records)
        result.stored += new
        result.errors += errors
        result.cursor = cursor
        if not page.more or page.cursor is None:
            return
