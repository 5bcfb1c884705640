"""The scan's event cache gives exactly what a full read gives, whatever happened to the events in between."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, select
from sqlmodel import SQLModel, col

from bot.clock import FixedClock
from bot.deps import Deps
from bot.ingest.adherence import import_schedule, import_states
from bot.services.adherence import scan_adherence
from bot.store import adherence_cache
from bot.store.adherence import events_from
from bot.store.adherence_cache import StateCache
from bot.store.org import member_by
from bot.store.tables import AgentStateEvent, Breach, Outbox, Team, utcnow

AGENTS = ("thandi@example.com", "sipho@example.com", "ayesha@example.com")


def _t(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 18, hour, minute, tzinfo=UTC)


async def _ids(deps: Deps) -> list[int]:
    async with deps.sessions() as session:
        found = [await member_by(session, email=a) for a in AGENTS]
    return [m.id for m in found if m]


async def _add(deps: Deps, *events: tuple[str, datetime, str]) -> None:
    async with deps.sessions() as session:
        records = [(i, {"agent": a, "at": at.isoformat(), "state": s}) for i, (a, at, s) in enumerate(events)]
        assert (await import_states(session, records))[1] == []
        await session.commit()


async def _compare(deps: Deps, cache: StateCache, ids: list[int], start: datetime, end: datetime) -> None:
    async with deps.sessions() as session:
        conn = await session.connection()
        cached = await cache.window(conn, ids, start, end)
        full = await events_from(conn, ids, start, end)
    assert cached == full


async def test_the_cache_always_matches_a_full_read(org: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await _ids(org)
    await _add(
        org,
        (AGENTS[0], _t(5, 50), "available"),
        (AGENTS[0], _t(6, 30), "busy"),
        (AGENTS[1], _t(6, 55), "available"),
        (AGENTS[1], _t(7, 10), "break"),
    )
    cache = StateCache()
    start, end = _t(6), _t(8)
    await _compare(org, cache, ids, start, end)  # a first, full read
    assert [e.state for e in cache.agents[ids[0]]] == ["available", "busy"]  # the 05:50 opening is kept

    await _add(org, (AGENTS[0], _t(7, 30), "after_work"), (AGENTS[2], _t(6, 10), "available"))
    await _add(org, (AGENTS[1], _t(6, 40), "away"))  # late, out of order
    await _add(org, (AGENTS[1], _t(6, 40), "away"))  # and again
    await _compare(org, cache, ids, start + timedelta(minutes=1), end + timedelta(minutes=1))

    async with org.sessions() as session:  # an event deleted (an erasure), which no id read can show
        thandi = ids[0]
        await session.execute(
            delete(AgentStateEvent).where(
                col(AgentStateEvent.member_id) == thandi, col(AgentStateEvent.at) == _t(6, 30)
            )
        )
        await session.commit()
    await _compare(org, cache, ids, start + timedelta(minutes=2), end + timedelta(minutes=2))

    # A row the id read cannot see (committed late, with an old id): the per-agent count finds it.
    monkeypatch.setattr(adherence_cache, "MARGIN_IDS", 0)
    async with org.sessions() as session:
        table = SQLModel.metadata.tables[AgentStateEvent.__tablename__]
        row = {"id": -1, "member_id": ids[2], "at": _t(7, 45), "state": "lunch", "source": "x", "received_at": utcnow()}
        await session.execute(insert(table).values(**row))
        await session.commit()
    await _compare(org, cache, ids, start + timedelta(minutes=3), end + timedelta(minutes=3))

    # The window moves on past Sipho's 06:55 and 07:10: only his latest before the start stays.
    await _compare(org, cache, ids, _t(7, 20), _t(9))
    assert [e.at for e in cache.agents[ids[1]]] == [_t(7, 10)]
    await _compare(org, cache, ids, _t(6), _t(9))  # the clock went back: everything is read again
    await _compare(org, cache, ids[:2], _t(6), _t(9))  # Ayesha no longer scheduled
    assert set(cache.agents) == set(ids[:2])


async def test_events_that_arrive_between_scans_reach_the_cached_scan(org: Deps, clock: FixedClock) -> None:
    async with org.sessions() as session:
        shift = {"agent": AGENTS[0], "start": "2026-11-18T08:00", "end": "2026-11-18T17:00", "activity": "open"}
        assert (await import_schedule(session, [(2, shift)]))[1] == []
        await session.commit()
    await _add(org, (AGENTS[0], _t(5, 58), "available"))
    clock.set(_t(8, 30))
    await scan_adherence(org)  # fills this process's cache
    await _add(org, (AGENTS[0], _t(8, 31), "away"))
    clock.set(_t(8, 40))
    assert (await scan_adherence(org)).opened == 1  # the new event reached the cached scan
    await _add(org, (AGENTS[0], _t(8, 42), "available"))
    clock.set(_t(8, 43))
    assert (await scan_adherence(org)).resolved == 1
    async with org.sessions() as session:
        (breach,) = (await session.execute(select(Breach))).scalars().all()
    assert (breach.kind, breach.status) == ("out_of_adherence", "resolved")
    assert breach.started_at == _t(8, 31) and breach.ended_at == _t(8, 42)


SHIFT = [("08:00", "10:00", "open"), ("10:00", "10:15", "break"), ("10:15", "12:00", "open")]
SHIFT += [("12:00", "12:30", "lunch"), ("12:30", "15:00", "meeting"), ("15:00", "17:00", "open")]
# Per agent: (local time, state), in time order: late back from break, away mid-morning, working in the meeting,
# a no-show until 09:10, early logout.
DAYS = {
    AGENTS[0]: [
        *[("07:58", "available"), ("10:00", "break"), ("10:24", "available"), ("11:02", "away"), ("11:15", "busy")],
        *[("12:00", "lunch"), ("12:31", "meeting"), ("15:00", "available"), ("16:40", "offline")],
    ],
    AGENTS[1]: [
        *[("09:10", "available"), ("10:05", "break"), ("10:14", "available"), ("12:00", "lunch"), ("12:29", "busy")],
        *[("13:10", "meeting"), ("15:02", "after_work"), ("15:03", "available")],
    ],
    AGENTS[2]: [
        *[("07:50", "available"), ("10:00", "break"), ("10:15", "available"), ("12:05", "lunch"), ("12:45", "meeting")],
        *[("14:00", "away"), ("14:20", "meeting"), ("15:00", "available")],
    ],
}


async def _day_of_scans(deps: Deps, clock: FixedClock, *, team_ids: list[int] | None) -> list[object]:
    """Scan every 3 minutes from 07:30 to 17:30 (SAST) while the day's events arrive as they happen."""
    pending = sorted((t, a, s) for a, evs in DAYS.items() for t, s in evs)
    t = datetime(2026, 11, 18, 5, 30, tzinfo=UTC)
    while t <= datetime(2026, 11, 18, 15, 30, tzinfo=UTC):
        local = f"{(t + timedelta(hours=2)):%H:%M}"
        due = [(a, s, at) for at, a, s in pending if at <= local]
        pending = [p for p in pending if p[0] > local]
        if due and team_ids is None:  # the second pass finds them in the database already
            await _add(deps, *((a, datetime.fromisoformat(f"2026-11-18T{at}+02:00"), s) for a, s, at in due))
        clock.set(t)
        await scan_adherence(deps, team_ids=team_ids)
        t += timedelta(minutes=3)
    async with deps.sessions() as session:
        rows = list((await session.execute(select(Breach))).scalars())
        keys = (await session.execute(select(col(Outbox.idempotency_key)).order_by(col(Outbox.id)))).scalars()
    # Messages by the stretch they are about, not by row id (a second pass gets new ids on PostgreSQL).
    stretch = {str(b.id): f"{b.member_id}/{b.kind}/{b.started_at:%H%M}" for b in rows}
    messages = [re.sub(r"^(breach:|breach-batch:\d+:)(\d+)", lambda m: m[1] + stretch[m[2]], k) for k in keys]
    return [*sorted((b.member_id, b.kind, b.started_at, b.ended_at, b.status, b.shown) for b in rows), messages]


async def test_skipping_unchanged_agents_changes_nothing(org: Deps, clock: FixedClock) -> None:
    async with org.sessions() as session:
        rows = [
            (i, {"agent": a, "start": f"2026-11-18T{s}", "end": f"2026-11-18T{e}", "activity": act})
            for i, (a, (s, e, act)) in enumerate((a, seg) for a in AGENTS for seg in SHIFT)
        ]
        assert (await import_schedule(session, rows))[1] == []
        await session.commit()
    cached = await _day_of_scans(org, clock, team_ids=None)  # the per-minute job: caches, skipping
    kinds = {row[1] for row in cached[:-1]}
    assert {"late_login", "long_break", "out_of_adherence", "early_logout"} <= kinds
    async with org.sessions() as session:  # the same day again, every agent evaluated every time
        await session.execute(delete(Outbox))
        await session.execute(delete(Breach))
        await session.commit()
        alpha = (await session.execute(select(col(Team.id)).where(col(Team.key) == "alpha"))).scalar_one()
    assert await _day_of_scans(org, clock, team_ids=[alpha]) == cached
