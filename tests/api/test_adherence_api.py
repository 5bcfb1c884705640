"""The WFM feed: schedules and agent states in through the API, a breach out to Slack within seconds."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.adherence_kpis import SOURCE
from bot.store import apikeys
from bot.store.tables import Breach, KpiSample, Outbox

SCHEDULE = {
    "segments": [
        {"agent": "thandi@example.com", "start": "2026-11-18T08:00", "end": "2026-11-18T17:00", "activity": "open"}
    ]
}


@pytest.fixture
async def key(org: Deps) -> str:
    async with org.sessions() as session:
        plain = await apikeys.create_key(session, "wfm", now=org.clock.now())
        await session.commit()
    return plain


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_states_in_breach_out(org: Deps, key: str, client: httpx.AsyncClient, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 18, 10, 12, tzinfo=ZoneInfo("Africa/Johannesburg")))
    resp = await client.post("/api/v1/schedule-segments", json=SCHEDULE, headers=auth(key))
    assert resp.json() == {"received": 1, "stored": 1}
    states = {
        "states": [
            {"agent": "UAGENT0001", "at": "2026-11-18T10:00", "state": "away"},  # out of order
            {"agent": "thandi@example.com", "at": "2026-11-18T07:58", "state": "available"},
            {"agent": "thandi@example.com", "at": "2026-11-18T07:58", "state": "available"},  # a resend
        ]
    }
    resp = await client.post("/api/v1/agent-states", json=states, headers=auth(key))
    assert resp.status_code == 200 and resp.json() == {"received": 3, "stored": 2}
    for _ in range(100):  # the scan runs beside the response
        async with org.sessions() as session:
            posted = (await session.execute(select(Outbox))).scalars().all()
        if posted:
            break
        await asyncio.sleep(0.02)
    async with org.sessions() as session:
        (breach,) = (await session.execute(select(Breach))).scalars().all()
    assert breach.kind == "out_of_adherence" and breach.status == "open"
    assert [p.idempotency_key for p in posted] == [f"breach:{breach.id}"]


async def test_a_bad_item_rejects_the_batch_and_names_it(org: Deps, key: str, client: httpx.AsyncClient) -> None:
    states = {
        "states": [
            {"agent": "thandi@example.com", "at": "2026-11-18T07:58", "state": "available"},
            {"agent": "nobody@example.com", "at": "2026-11-18T08:00", "state": "available"},
            {"agent": "thandi@example.com", "at": "noon", "state": "available"},
        ]
    }
    resp = await client.post("/api/v1/agent-states", json=states, headers=auth(key))
    assert resp.status_code == 422
    assert resp.json()["detail"] == [
        {"index": 1, "error": "unknown agent 'nobody@example.com' (an email, external id or Slack id)"},
        {"index": 2, "error": "at 'noon' is not an ISO 8601 date-time"},
    ]


async def test_without_a_key_nothing_is_read(org: Deps, client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/schedule-segments", json=SCHEDULE)
    assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"


async def test_a_schedule_republished_for_older_days_rebuilds_their_adherence_kpis(
    org: Deps, key: str, client: httpx.AsyncClient
) -> None:
    """Tuesday 10 November, eight days back: the job no longer revisits it, so the re-publish does, beside the
    response. Thandi has no state events that day: none of her 540 scheduled minutes were in adherence. Today's
    schedule (the job's to compute) starts no such rebuild."""
    older = {
        "segments": [
            {"agent": "thandi@example.com", "start": "2026-11-10T08:00", "end": "2026-11-10T17:00", "activity": "open"}
        ]
    }
    assert (await client.post("/api/v1/schedule-segments", json=SCHEDULE, headers=auth(key))).status_code == 200
    resp = await client.post("/api/v1/schedule-segments", json=older, headers=auth(key))
    assert resp.json() == {"received": 1, "stored": 1}
    query = select(KpiSample.day, KpiSample.numerator, KpiSample.denominator).where(KpiSample.source == SOURCE)
    for _ in range(100):  # the rebuild runs beside the response
        async with org.sessions() as session:
            rows = (await session.execute(query)).all()
        if rows:
            break
        await asyncio.sleep(0.02)
    assert sorted(tuple(r) for r in rows) == [(date(2026, 11, 10), 0.0, 540.0)] * 2  # adherence and conformance
