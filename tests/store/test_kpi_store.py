"""KPI samples in the database: idempotent upsert, per-day sums, no double counting, aware timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from bot.deps import Deps
from bot.domain.periods import DateRange
from bot.store import kpis
from bot.store.org import team_by_key
from bot.store.tables import KpiSample, UTCDateTime
from tests.support.kpis import add_samples, sample

DAY = DateRange(date(2026, 11, 18), date(2026, 11, 18))


async def _count(deps: Deps) -> int:
    async with deps.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(KpiSample))).scalar_one())


async def _team_sums(deps: Deps, key: str = "alpha", days: DateRange = DAY) -> dict[str, tuple[float, float, int]]:
    async with deps.sessions() as session:
        team = await team_by_key(session, key)
        assert team is not None
        rows = await kpis.day_sums(session, days=days, team_id=team.id)
    return {r.metric_key: (r.numerator, r.denominator, r.samples) for r in rows}


async def test_upsert_is_idempotent_and_updates_in_place(org: Deps) -> None:
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 8, 10))
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 8, 10))
    assert await _count(org) == 1
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 9, 10))
    assert await _count(org) == 1
    assert (await _team_sums(org))["csat"] == (9, 10, 1)


async def test_another_source_is_another_sample(org: Deps) -> None:
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 8, 10), source="zendesk")
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 1, 2), source="survey")
    assert await _count(org) == 2
    assert (await _team_sums(org))["csat"] == (9, 12, 2)


async def test_team_level_sample_is_used_only_where_no_agent_sample_exists(org: Deps) -> None:
    await add_samples(
        org,
        sample("csat", "thandi@example.com", "2026-11-18", 8, 10),
        sample("csat", "team:alpha", "2026-11-18", 80, 100),  # would double count
        sample("sla", "team:alpha", "2026-11-18", 45, 50),  # the only SLA figure: used
    )
    sums = await _team_sums(org)
    assert sums["csat"] == (8, 10, 1)
    assert sums["sla"] == (45, 50, 1)


async def test_agent_sums_exclude_teammates(org: Deps) -> None:
    await add_samples(
        org,
        sample("csat", "thandi@example.com", "2026-11-18", 8, 10),
        sample("csat", "sipho@example.com", "2026-11-18", 1, 10),
    )
    async with org.sessions() as session:
        from bot.store.org import member_by

        thandi = await member_by(session, email="thandi@example.com")
        assert thandi is not None
        rows = await kpis.day_sums(session, days=DAY, member_id=thandi.id)
    assert [(r.metric_key, r.numerator, r.denominator) for r in rows] == [("csat", 8, 10)]


async def test_day_is_the_teams_local_date(org: Deps) -> None:
    # 23:30 UTC on the 17th is already the 18th in Durban (UTC+2), still the 17th in London.
    await add_samples(
        org,
        {
            "metric": "items",
            "subject": "thandi@example.com",
            "start": "2026-11-17T23:30:00+00:00",
            "end": "2026-11-18T00:30:00+00:00",
            "numerator": 3,
        },
        {
            "metric": "items",
            "subject": "bob@example.com",
            "start": "2026-11-17T23:30:00+00:00",
            "end": "2026-11-18T00:30:00+00:00",
            "numerator": 5,
        },
    )
    assert (await _team_sums(org, "alpha"))["items"][0] == 3
    assert (await _team_sums(org, "bravo", DateRange(date(2026, 11, 17), date(2026, 11, 17))))["items"][0] == 5


async def test_latest_sample_end_is_aware_utc(org: Deps) -> None:
    await add_samples(
        org,
        {
            "metric": "items",
            "subject": "thandi@example.com",
            "start": "2026-11-18T08:00",
            "end": "2026-11-18T14:30",
            "numerator": 3,
        },
    )
    async with org.sessions() as session:
        team = await team_by_key(session, "alpha")
        assert team is not None
        end = await kpis.latest_sample_end(session, days=DAY, team_id=team.id)
    assert end == datetime(2026, 11, 18, 12, 30, tzinfo=UTC)


def test_utc_column_refuses_naive_datetimes() -> None:
    from sqlalchemy.dialects import sqlite

    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())


async def test_daily_sums_follow_every_write(org: Deps) -> None:
    """kpi_day is rebuilt for the touched team-days in each write, and equals a fresh aggregate of kpi_sample."""
    from sqlalchemy import text

    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 8, 10))
    await add_samples(
        org,
        sample("csat", "thandi@example.com", "2026-11-18", 9, 10),  # updates the same sample
        sample("csat", "sipho@example.com", "2026-11-17", 1, 4),
    )
    async with org.sessions() as session:
        daily = (
            await session.execute(text("SELECT day, numerator, denominator, samples FROM kpi_day ORDER BY day"))
        ).all()
        assert [(str(d), n, dn, c) for d, n, dn, c in daily] == [("2026-11-17", 1, 4, 1), ("2026-11-18", 9, 10, 1)]
        conn = await session.connection()
        await kpis.rebuild_all_days(conn)
        rebuilt = (
            await session.execute(text("SELECT day, numerator, denominator, samples FROM kpi_day ORDER BY day"))
        ).all()
    assert [tuple(r) for r in rebuilt] == [tuple(r) for r in daily]
