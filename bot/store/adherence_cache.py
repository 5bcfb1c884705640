"""The per-minute scan's copy of recent state events and schedule segments, kept between scans in this process.

Reading every scheduled agent's day of events each minute is most of a scan's cost at a large site (5,000 agents
× a chat agent's 10–20 state changes an hour). The scan reads the same window again a minute later, so
:class:`StateCache` keeps each agent's events (as engine objects) and each scan only:

1. reads the rows added since the last scan, by primary key, re-reading the last ``MARGIN_IDS`` ids as well
   (a transaction that took its ids earlier may commit later);
2. checks, per agent, that the database and the cache hold the same number of events in the window (one
   grouped index-range count): anything the first step missed, a deleted event, an agent erased, is reloaded
   for that agent;
3. drops what fell out of the window, keeping each agent's latest event at or before its start.

:class:`SegmentCache` keeps the segments of a window rounded out to the hour, and reads them again when that
window moves on (once an hour) or when a count and the highest id of its segments show a change (a re-publish).

They are only caches: a new process, or a scan whose window starts before what is cached (a clock moved back),
reads everything again, and every scan's result is what a full read would give. Each replica keeps its own.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from bot.domain.adherence import Segment, StateEvent
from bot.store.adherence import (
    EVENTS,
    MAX_SEGMENT,
    SEGMENTS,
    AgentDay,
    active_agents,
    active_ids,
    add_excused,
    event_at,
    events_from,
    segments_of,
    segments_overlapping,
)

MARGIN_IDS = 5000  # about five minutes of a 5,000-agent site's events
_AT = attrgetter("at")
_KEY = attrgetter("at", "state")


@dataclass
class StateCache:
    agents: dict[int, list[StateEvent]] = field(default_factory=dict)  # each in (at, state) order, no repeats
    covered_from: datetime | None = None  # every agent's events after this, and their latest at or before it
    last_id: int = 0  # the highest event id read
    changed: set[int] = field(default_factory=set)  # agents whose events the last ``window`` changed

    async def window(
        self, conn: AsyncConnection, ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[int, list[StateEvent]]:
        """Per agent in ``ids``: the latest event at or before ``start``, then every event before ``end``."""
        self.changed = set()
        if self.covered_from is None or start < self.covered_from:
            self.agents.clear()
            self.last_id = await _max_id(conn)  # before the load: later rows come in through the next step 1
        else:
            await self._read_new(conn)
        self._trim(start)
        self.covered_from = start
        wanted = set(ids)
        self.agents = {m: events for m, events in self.agents.items() if m in wanted}  # only who is scheduled
        reload = [m for m in ids if m not in self.agents]
        reload += await self._miscounted(conn, [m for m in ids if m in self.agents], start, end)
        if reload:
            self.agents.update(await events_from(conn, reload, start, None))
            self.changed.update(reload)
        return {m: _before(self.agents[m], end) for m in ids}

    async def _read_new(self, conn: AsyncConnection) -> None:
        ev = EVENTS
        query = (
            select(ev.c.id, ev.c.member_id, event_at(ev), ev.c.state)
            .where(ev.c.id > self.last_id - MARGIN_IDS)
            .order_by(ev.c.id)
        )
        for event_id, member_id, at, state in (await conn.execute(query)).all():
            self.last_id = max(self.last_id, event_id)
            events = self.agents.get(member_id)
            if events is None:
                continue  # not cached: read whole if scheduled
            key = (at.replace(tzinfo=UTC) if at.tzinfo is None else at, state)
            i = bisect_right(events, key, key=_KEY)
            if i and _KEY(events[i - 1]) == key:
                continue  # already here (the re-read margin)
            events.insert(i, StateEvent(*key))
            self.changed.add(member_id)

    def _trim(self, start: datetime) -> None:
        for member_id, events in self.agents.items():
            k = bisect_right(events, start, key=_AT)
            if k > 1:  # keep the latest event at or before start, and any others at that same moment
                drop = bisect_left(events, events[k - 1].at, key=_AT)
                if drop:
                    del events[:drop]
                    self.changed.add(member_id)

    async def _miscounted(self, conn: AsyncConnection, ids: list[int], start: datetime, end: datetime) -> list[int]:
        if not ids:
            return []
        ev = EVENTS
        query = (  # every active agent's count: a subquery binds faster than thousands of ids
            select(ev.c.member_id, func.count())
            .where(ev.c.member_id.in_(active_ids()), ev.c.at > start, ev.c.at < end)
            .group_by(ev.c.member_id)
        )
        counts: dict[int, int] = dict((await conn.execute(query)).all())
        out = []
        for m in ids:
            events = self.agents[m]
            cached = bisect_left(events, end, key=_AT) - bisect_right(events, start, key=_AT)
            if cached != counts.get(m, 0):
                out.append(m)
        return out


def _before(events: list[StateEvent], end: datetime) -> list[StateEvent]:
    if not events or events[-1].at < end:
        return events  # the engine copies what it is given; nothing here changes it during a scan
    return events[: bisect_left(events, end, key=_AT)]


async def _max_id(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.coalesce(func.max(EVENTS.c.id), 0)))).scalar_one())


@dataclass
class SegmentCache:
    agents: dict[int, list[Segment]] = field(default_factory=dict)  # each in time order
    span: tuple[datetime, datetime] | None = None  # what ``agents`` holds: segments overlapping this
    version: tuple[int, int, int] | None = None  # (which agents, how many segments, highest id) in the span

    async def window(
        self, conn: AsyncConnection, ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[int, list[Segment]]:
        """Per agent of ``ids`` (the active agents) with any, their segments overlapping [start, end)."""
        lo = start.replace(minute=0, second=0, microsecond=0)
        span = (lo, lo + (end - start) + timedelta(hours=1))  # any start in this hour, with its end, fits
        seg = SEGMENTS
        query = segments_overlapping(active_ids(), *span).with_only_columns(
            func.count(), func.coalesce(func.max(seg.c.id), 0)
        )
        count, top = (await conn.execute(query)).one()
        version = (hash(frozenset(ids)), int(count), int(top))
        if (span, version) != (self.span, self.version):
            self.agents = await segments_of(conn, active_ids(), *span)
            self.span, self.version = span, version
        floor = start - MAX_SEGMENT
        out: dict[int, list[Segment]] = {}
        for member_id in ids:
            segments = self.agents.get(member_id)
            if segments:
                mine = [x for x in segments if x.start < end and x.end > start and x.start > floor]
                if mine:
                    out[member_id] = mine
        return out


@dataclass
class ScanCache:
    events: StateCache = field(default_factory=StateCache)
    segments: SegmentCache = field(default_factory=SegmentCache)


_caches: weakref.WeakKeyDictionary[AsyncEngine, ScanCache] = weakref.WeakKeyDictionary()


def cache_for(engine: AsyncEngine) -> ScanCache:
    """This process's cache for the database behind ``engine``."""
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = ScanCache()
    return cache


async def load_scan_days(
    session: AsyncSession, cache: ScanCache, *, start: datetime, end: datetime, ahead: timedelta
) -> dict[int, AgentDay]:
    """``load_agent_days`` for the scan (every team), from ``cache`` brought up to date."""
    conn = await session.connection()
    team_of = await active_agents(conn)
    segments = await cache.segments.window(conn, list(team_of), start, end + ahead)
    days = {m: AgentDay(m, team_of[m], mine) for m, mine in segments.items()}
    if days:
        for member_id, events in (await cache.events.window(conn, list(days), start, end)).items():
            days[member_id].events = events
        await add_excused(conn, days, start, end, ids=active_ids())
    return days
